"""Runs params.script with /bin/sh -c: the one shipped operator whose param reaches a shell,
because that is what it is for. Outputs what the script printed."""

import subprocess
import sys

import weft_task as weft

done = subprocess.run(["/bin/sh", "-c", str(weft.params["script"])], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
text = done.stdout.decode("utf-8", "replace")
sys.stdout.flush()
weft.output("stdout", text)
weft.output("code", done.returncode)
sys.exit(done.returncode)
