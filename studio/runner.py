"""Runs a workflow with the engine off the GUI thread — in a process of its own.

``RunController.start`` checks the workflow here (so every problem can be shown where it is),
then hands it to ``python -m studio.runhost``, which runs it with the engine. A reader thread
turns the host's frames into items on the one ``EventBridge``; the window only ever sees
batches from the bridge, on the GUI thread. Stop works at any moment: it sends ``stop`` to the
host (which cancels the run: every task is stopped, the run is recorded ``cancelled``), and if
the host does not end it is terminated.

Why a process and not a thread: a run that floods events (100,000 log lines, 1,000 nodes
created at once) keeps a thread busy in Python, and then the window waits for Python's global
lock at every step of its event loop. In its own process the engine never slows the window.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from PySide6 import QtCore

from engine.errors import InvalidInput
from engine.promises.registered import checked
from engine.running.run import new_run_id
from engine.workflow.loader import load_text
from studio.bridge import EventBridge
from studio.model.runmodel import RunEnded
from studio.runhost import read_frames

STOP_GRACE = 10.0  # seconds the host gets to stop its tasks before it is terminated
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class RunController(QtCore.QObject):
    """Starts and stops runs; ``bridge.batch`` carries what they do to the GUI thread."""

    started = QtCore.Signal(str)

    def __init__(self, home: Path, bridge: EventBridge, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.home = Path(home)
        self.bridge = bridge
        self.run_id: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stderr: deque[bytes] = deque(maxlen=200)
        self._lock = threading.Lock()
        self._ended = False

    @property
    def running(self) -> bool:
        """A run is going on (its end has not been reported yet)."""
        return self._reader is not None and self._reader.is_alive() and not self._ended

    def start(self, text: str, path: Path | None, max_parallel: int | None = None) -> str:
        """Check and start a run of ``text`` (the workflow as it is now); returns its id.

        Raises ``WorkflowInvalid`` / ``InvalidInput`` before anything starts when the workflow
        cannot run, so the caller can show every problem where it is.
        """
        self._check_idle()
        file = str(path) if path else "<unsaved workflow>"
        checked(load_text(text, file, path.resolve() if path else Path.cwd() / "untitled.weft.yaml"))
        run_id = new_run_id()
        header = {
            "text": text,
            "path": str(path.resolve()) if path else None,
            "home": str(self.home),
            "run_id": run_id,
            "max_parallel": max_parallel,
        }
        self._launch(run_id, header, path.resolve().parent if path else Path.cwd())
        return run_id

    def resume(self, run_id: str, restart: list[str], folder: Path | None) -> None:
        """Continue run ``run_id`` (ended or interrupted) in a host of its own, after restarting
        ``restart``: the same ``Run.resuming`` as `weft restart` / `weft resume`, streamed as a
        fresh run is. Whether the run's state allows it is the caller's check."""
        self._check_idle()
        header = {"home": str(self.home), "resume": run_id, "restart": list(restart)}
        self._launch(run_id, header, folder if folder is not None and folder.is_dir() else Path.cwd())

    def _check_idle(self) -> None:
        if self.running:
            raise InvalidInput("a run is going on already; stop it first")
        if self._reader is not None:
            self._reader.join(5)  # the last run reported its end; its process is on its way out

    def _launch(self, run_id: str, header: dict[str, object], cwd: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        env.pop("QT_QPA_PLATFORM", None)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "studio.runhost"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=str(cwd),
            )
        except OSError as exc:
            raise InvalidInput(f"cannot start the run: {exc}") from None
        assert process.stdin is not None
        process.stdin.write(json.dumps(header).encode("utf-8") + b"\n")
        process.stdin.flush()
        self.process, self.run_id = process, run_id
        self._ended = False
        self._stderr.clear()
        self.bridge.start()
        self._reader = threading.Thread(target=self._read, args=(process,), name=f"weft-run {run_id}", daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, args=(process,), daemon=True).start()
        self.started.emit(run_id)

    def stop(self) -> None:
        """Cancel the run (from the GUI thread, at any moment)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with self._lock:
            try:
                assert process.stdin is not None
                process.stdin.write(b"stop\n")
                process.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass
        threading.Timer(STOP_GRACE, self._terminate, args=(process,)).start()

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has ended (tests, quitting); True if it did."""
        if self._reader is None:
            return True
        self._reader.join(timeout)
        return not self._reader.is_alive()

    # -- the reader thread ------------------------------------------------------------------

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        ended = False
        assert process.stdout is not None
        try:
            for items in read_frames(process.stdout):
                for item in items:
                    if isinstance(item, RunEnded):
                        ended = self._ended = True
                    self.bridge.push(item)
        finally:
            code = process.wait()
            if not ended:  # the host died: say so, with what it wrote on its way out
                tail = b"".join(self._stderr).decode("utf-8", errors="replace").strip()
                self._ended = True
                self.bridge.push(
                    RunEnded(
                        "failed",
                        f"the run's process ended unexpectedly (exit code {code})"
                        + (f":\n{tail[-4000:]}" if tail else ""),
                    )
                )
            with self._lock:
                try:
                    assert process.stdin is not None
                    process.stdin.close()
                except OSError:
                    pass

    def _read_stderr(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._stderr.append(line)
