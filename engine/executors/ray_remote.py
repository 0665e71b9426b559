"""What runs on a Ray node for the ``ray`` executor: standard library only.

Ray ships this module's functions by value (``cloudpickle.register_pickle_by_value``), so a
cluster's nodes need Python and Ray, not Weft. ``task`` is a streaming generator: it starts the
task's process in a session (process group) of its own, writes the start line to its stdin and
yields what the process writes as it comes, chunk by chunk; the engine cuts the chunks into
lines and handles them like a local task's (``engine.executors.lines``).

Items yielded, in order:

- ``("started", node_ip, node_id, pid)`` once the process runs, or ``("launch", reason)`` if it cannot start;
- ``("stdout" | "stderr", bytes)`` for every chunk read;
- ``("exit", code)`` at the end: negative for "killed by signal N".

``signal_group`` and ``sweep`` run on a named node (node affinity, no CPU): they signal a task's
process group, or every process left by the tasks of a run (by ``WEFT_RUN`` in its environment).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

DRAIN = 1.0  # seconds the pipes may stay open after the task's process ended
CHUNK = 1 << 16


def _node() -> tuple[str, str]:
    """This Ray node's address and id."""
    try:
        import ray

        return str(ray.util.get_node_ip_address()), str(ray.get_runtime_context().get_node_id())
    except Exception:  # noqa: BLE001 - not in a Ray worker
        return "?", "?"


def _helper_dir(helper_source: bytes) -> str:
    """A folder on this node holding ``weft_task.py`` as the engine has it (by content),
    readable by every user (a container's task may run as nobody)."""
    digest = hashlib.sha256(helper_source).hexdigest()[:16]
    folder = os.path.join(tempfile.gettempdir(), f"weft-taskhelper-{digest}")
    path = os.path.join(folder, "weft_task.py")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(helper_source)
        os.replace(tmp, path)
    if os.stat(path).st_mode & 0o444 != 0o444:  # mounted into containers whose user may be nobody
        os.chmod(path, 0o644)
    return folder


def _die_with_parent() -> None:
    """In the child: be killed if the Ray worker that started it dies (Linux)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the engine's stop and sweep remain
        pass


def task(
    argv: list[str], cwd: str, env: dict[str, str], start_line: bytes, helper: tuple[str, bytes]
) -> Iterator[tuple[Any, ...]]:
    """Run one task here; see the module's docstring for what it yields."""
    engine_dir, source = helper
    here = _helper_dir(source)
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(
        here if p == engine_dir else p for p in env.get("PYTHONPATH", "").split(os.pathsep)
    )
    ip, node_id = _node()
    env["WEFT_RAY_NODE"] = ip
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        note = (
            "" if os.path.isdir(cwd) else f" (working folder {cwd} does not exist on Ray node {env['WEFT_RAY_NODE']})"
        )
        yield ("launch", f"command not found: {argv[0]}{note}")
        return
    except PermissionError:
        yield ("launch", f"command not executable: {argv[0]}")
        return
    except OSError as exc:
        yield ("launch", f"cannot start {argv[0]}: {exc.strerror or exc}")
        return
    yield ("started", ip, node_id, proc.pid)
    try:
        yield from _stream(proc, start_line)
        code = proc.wait()
    finally:
        _end_group(proc.pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    yield ("exit", code)


def _stream(proc: subprocess.Popen[bytes], start_line: bytes) -> Iterator[tuple[str, bytes]]:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(start_line)
        proc.stdin.close()
    except (BrokenPipeError, OSError):  # a task that never reads its start line
        pass
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    open_ = 2
    exited_at: float | None = None
    while open_:
        timeout = 0.1 if exited_at is None else max(0.0, exited_at + DRAIN - time.monotonic())
        events = sel.select(timeout)
        for key, _ in events:
            data = os.read(key.fd, CHUNK)
            if data:
                yield (key.data, data)
            else:
                sel.unregister(key.fileobj)
                open_ -= 1
        if exited_at is None and proc.poll() is not None:
            exited_at = time.monotonic()
        elif exited_at is not None and time.monotonic() >= exited_at + DRAIN:
            break  # something left behind holds the pipes
    sel.close()
    proc.stdout.close()
    proc.stderr.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
                return True
    return False


def _end_group(pgid: int, grace: float = 2.0) -> None:
    if not _group_alive(pgid):
        return
    signal_group(pgid, int(signal.SIGTERM))
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_group(pgid, int(signal.SIGKILL))


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid`` on this node; False if it is gone."""
    try:
        os.killpg(pgid, sig)
    except OSError:
        return False
    return True


def sweep(run: str) -> int:
    """Kill every process group on this node led by a task of run ``run``; how many."""
    mark = f"WEFT_RUN={run}".encode()
    own = os.getpgrp()
    killed = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            pgid = os.getpgid(int(entry))
            if pgid != own:
                os.killpg(pgid, signal.SIGKILL)
                killed += 1
        except OSError:
            continue
    return killed
