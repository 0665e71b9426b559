"""One attempt of a task, from launch to its outcome, and how attempts follow each other.

``run_attempt`` launches the task, feeds its lines to its ``TaskSession``, enforces its timeout and
turns whatever happened into an ``Outcome``; the run decides from it whether to retry
(``retry_delay``), fail the node or record its outputs.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

from engine.errors import LaunchError, ProtocolError, RunBroken, TaskFailure, TaskLost
from engine.executors.base import Executor, TaskSpec
from engine.running.session import TaskSession
from engine.workflow.model import ResolvedNode

MAX_BACKOFF = 300.0  # seconds: the longest wait between two attempts


@dataclass
class Outcome:
    ok: bool
    reason: str | None = None
    exit_code: int | None = None
    retryable: bool = True
    culprit: bool = False  # this task's own mutation broke the run
    #: it ended by asking a person (prompt, {field: type}): its node waits for the answer
    question: tuple[str, dict[str, str]] | None = None


def retry_delay(resolved: ResolvedNode, attempt: int) -> float:
    """Seconds before the attempt after ``attempt``: ``retry_delay`` doubled each time, capped."""
    return float(min(resolved.retry_delay * 2 ** (attempt - 1), MAX_BACKOFF))


async def run_attempt(executor: Executor, spec: TaskSpec, session: TaskSession) -> Outcome:
    """Run one attempt to its end. Cancelling it stops the task (and waits for that).
    ``ExecutorGone`` (the executor's backend vanished) goes to the caller: the run stops."""
    resolved = spec.node
    try:
        proc = await executor.launch(spec)
    except LaunchError as exc:
        return Outcome(False, str(exc), retryable=False)
    try:
        async with asyncio.timeout(resolved.timeout):
            await proc.pump(session.on_line)
            code = await proc.wait()
    except TimeoutError:
        await proc.stop()
        return Outcome(False, f"timed out after {resolved.timeout:g} s")
    except (TaskFailure, ProtocolError, LaunchError) as exc:
        await proc.stop()
        return Outcome(False, str(exc), retryable=False)
    except TaskLost as exc:  # its machine went away: another attempt may run elsewhere
        await proc.stop()
        return Outcome(False, str(exc))
    except RunBroken as exc:
        await proc.stop()
        return Outcome(False, f"broke a promise: {exc}", retryable=False, culprit=True)
    except asyncio.CancelledError:
        await asyncio.shield(proc.stop())
        raise
    if code != 0:
        return Outcome(False, describe_exit(code), code)
    answered = session.question[1] if session.question is not None else {}
    missing = [
        name
        for name, text in resolved.outputs.items()
        if name not in session.outputs and name not in answered and not text.rstrip().endswith("?")
    ]
    if missing:
        return Outcome(False, f"exited 0 without reporting output {', '.join(missing)}", 0, retryable=False)
    return Outcome(True, exit_code=0, question=session.question)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"
