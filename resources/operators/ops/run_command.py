"""Runs params.argv (a list of arguments, never through a shell) and outputs what it printed."""

import subprocess
import sys

import weft_task as weft

argv = weft.params.get("argv")
if not isinstance(argv, list) or not argv or not all(isinstance(a, (str, int, float)) for a in argv):
    weft.log("params.argv must be a non-empty list of arguments", level="error")
    sys.exit(2)
done = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
sys.stdout.flush()
weft.output("stdout", done.stdout.decode("utf-8", "replace"))
weft.output("code", done.returncode)
if done.returncode != 0:
    weft.log(f"{argv[0]} exited with {done.returncode}", level="error")
sys.exit(done.returncode)
