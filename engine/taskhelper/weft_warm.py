"""weft_warm: runs the tasks of one operator, one after another, in a warm container.

Weft's docker executor starts a container with ``warm: true`` once, with this file as its
program (``python3 -I /opt/weft/weft_warm.py``), and keeps it for the rest of the run. Starting a
process is cheap; starting a container is not: a short task then costs milliseconds, not the
few hundred of a fresh container. Each task still runs as if alone:

- a fresh process (its own session), given its start line on stdin, then EOF, exactly as a
  cold task; its exit code is reported as ``subprocess`` gives it (negative: killed by signal);
- a fresh, empty ``$TMPDIR`` (and ``$HOME``, unless the node sets one) under ``/tmp``; the
  container's root filesystem is read-only, so nothing else outside ``/workspace`` can keep
  state from one task to the next;
- when it ends, whatever it left running is killed (after the same one-second grace the local
  executor gives pipes held open by leftovers), and ``/tmp`` and ``/dev/shm`` are emptied,
  before the next task may start.

The server runs as the same user as its tasks (unprivileged as a rule), with no capabilities:
it may kill them and remove their files because they are its own, not because it is root.
Folders a task closed (``chmod 000``) are opened again first, which their owner may always do.

Engine to server, on stdin: one JSON line per task, ``{"argv", "env", "cwd", "start"}``.
Server to engine, on stdout, frames of one kind byte, a big-endian uint32 length and the
payload: ``S`` started, ``F`` could not start (payload: the reason), ``O`` / ``E`` bytes the task
wrote to stdout / stderr, ``X`` the task is over and cleaned up (payload: its exit code).
Standard library only, Python 3.6+: it runs in whatever image the operator names.
"""

import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

DRAIN = 1.0  # seconds pipes may stay open after the task's process ended (as the local executor)
SCRATCH = ("/tmp", "/dev/shm")
_OUT = sys.stdout.buffer
_HEADER = struct.Struct(">cL")


def frame(kind, payload=b""):
    _OUT.write(_HEADER.pack(kind, len(payload)) + payload)
    _OUT.flush()


def serve():
    base_env = dict(os.environ)
    requests = sys.stdin.buffer
    while True:
        line = requests.readline()
        if not line:
            return
        run_task(json.loads(line.decode("utf-8")), base_env)


def run_task(request, base_env):
    scratch = tempfile.mkdtemp(prefix="weft-task-", dir="/tmp")
    env = dict(base_env)
    env.update({"TMPDIR": scratch, "TMP": scratch, "TEMP": scratch, "HOME": scratch})
    env.update(request["env"])
    argv, cwd = request["argv"], request["cwd"]
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        note = "" if os.path.isdir(cwd) else " (working folder %s does not exist)" % cwd
        return refuse("command not found: %s%s" % (argv[0], note))
    except PermissionError:
        return refuse("command not executable: %s" % argv[0])
    except OSError as exc:
        return refuse("cannot start %s: %s" % (argv[0], exc.strerror or exc))
    frame(b"S")
    feeder = threading.Thread(target=feed, args=(proc.stdin, request["start"].encode("utf-8")))
    feeder.daemon = True
    feeder.start()
    forward(proc)
    proc.wait()
    clean_up(proc.pid)
    frame(b"X", str(proc.returncode).encode())


def refuse(reason):
    clean_up(None)
    frame(b"F", reason.encode("utf-8", "replace"))


def feed(pipe, data):
    """The start line, then EOF; a task that does not read it must not hold anything up."""
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError):
        pass
    try:
        pipe.close()
    except OSError:
        pass


def forward(proc):
    """The task's stdout and stderr as frames, until both end (or DRAIN after it exited)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout.fileno(), selectors.EVENT_READ, b"O")
    selector.register(proc.stderr.fileno(), selectors.EVENT_READ, b"E")
    open_pipes = 2
    deadline = None
    while open_pipes:
        if deadline is None and proc.poll() is not None:
            deadline = time.monotonic() + DRAIN
        timeout = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
        events = selector.select(timeout)
        for key, _ in events:
            data = os.read(key.fd, 256 * 1024)
            if data:
                frame(key.data, data)
            else:
                selector.unregister(key.fd)
                open_pipes -= 1
        if deadline is not None and not events and time.monotonic() >= deadline:
            break  # something the task left behind holds its pipes: it is stopped below
    selector.close()
    proc.stdout.close()
    proc.stderr.close()


def clean_up(pgid):
    """Nothing of the last task may reach the next: its processes, its scratch files."""
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    kill_strays()
    for folder in SCRATCH:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                open_up(path)
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def open_up(top):
    """Give the owner back every right on the folders under ``top``, so that they can be removed.

    Without root's powers, a folder a task made unreadable or unwritable could not be emptied.
    A loop, not recursion: a task may nest folders deeper than Python's stack.
    """
    todo = [top]
    while todo:
        path = todo.pop()
        try:
            os.chmod(path, 0o700)
            entries = list(os.scandir(path))
        except OSError:
            continue
        todo.extend(entry.path for entry in entries if entry.is_dir(follow_symlinks=False))


def kill_strays():
    """Kill every process but init and this server (even ones that left the task's session)."""
    keep = {1, os.getpid()}
    for _ in range(100):
        alive = [pid for pid in _pids() if pid not in keep and not _zombie(pid)]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def _pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True  # gone already


if __name__ == "__main__":
    try:
        serve()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
