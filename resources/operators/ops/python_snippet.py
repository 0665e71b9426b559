"""Runs params.code with this Python (``python -c``, as one argument: never through a shell).

The snippet sees the task's start message, so ``import weft_task as weft`` in it reads this
node's inputs and params and sets its outputs (``weft.output("result", ...)``)."""

import json
import os
import subprocess
import sys

import weft_task as weft

env = dict(os.environ, WEFT_TASK_START=json.dumps(weft.start))
sys.exit(subprocess.run([sys.executable, "-c", str(weft.params["code"])], env=env, stdin=subprocess.DEVNULL).returncode)
