"""What a Weft container looks like from inside, for the executor and the warm pool alike.

Where the workspace, the workflow folder and the helper are mounted, where a task starts, and
how the container's exit status reads. Both ``docker`` (cold containers) and ``docker_warm``
(tasks inside a warm container) need these; neither module imports the other's internals.
"""

from __future__ import annotations

import posixpath
import re

WORKSPACE = "/workspace"
WORKFLOW = "/workflow"
HELPER = "/opt/weft"
#: tini's words when it cannot exec the task's command (exit code 127 or 126)
EXEC_FAILED = re.compile(rb"^\[FATAL tini \(\d+\)\] exec (.*) failed: (.*?)\r?\n?$")


def task_workdir(workdir: str | None) -> str:
    """The task's working directory in the container: ``/workflow``, or ``workdir`` relative to it."""
    if not workdir:
        return WORKFLOW
    return posixpath.normpath(posixpath.join(WORKFLOW, workdir))


def exit_code(status: int) -> int:
    """Docker's exit status as the local executor reports it: negative for "killed by signal"."""
    return -(status - 128) if 128 < status <= 128 + 64 else status
