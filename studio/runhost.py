"""The process a studio run lives in: ``python -m studio.runhost`` (no Qt here).

The studio starts one per run. The engine gets a process of its own, not just a thread: a
busy run (a task writing a hundred thousand lines, a planner creating a thousand nodes) then
never competes with the window for Python's global lock, and a crash of a run cannot take the
window down.

Protocol, over the child's standard streams:

* stdin, from the studio: one JSON line ``{"text", "path", "home", "run_id", "max_parallel"}``
  for a new run, or ``{"home", "resume": RUN, "restart": [NODE...]}`` to continue a run that
  ended or was interrupted (``Run.resuming``, after restarting ``restart``, as `weft restart`
  and `weft resume` do), then ``stop`` lines (Stop pressed). End of file (the studio went away) stops the run too.
* stdout, to the studio: frames of a 4-byte big-endian length and a pickled list of items —
  ``engine.events.Recorded``, ``GhostUpdate`` (the projection, computed here where the graph
  is) and finally ``RunEnded``. Events are sent in batches at most every ``FLUSH`` seconds.
* stderr: anything unexpected (the studio shows its end if the process dies).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
import struct
import sys
import traceback
from pathlib import Path
from typing import Any

from engine.events import GraphChanged, NodeStateChanged, Restarted, RunStarted, RunStateChanged

FLUSH = 0.015  # seconds an event may wait before it is sent to the studio
GHOST_INTERVAL = 0.05  # the projection is recomputed at most this often (when something changed)
#: what changes the projection's ghosts: a change of structure, a node or the run settling
_STRUCTURE = (RunStarted, GraphChanged, Restarted, NodeStateChanged, RunStateChanged)


def write_frame(fd: int, items: list[Any]) -> None:
    data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frames(stream: Any) -> Any:
    """Yield the item lists of the frames on ``stream`` (a binary file) until it ends."""
    while True:
        head = stream.read(4)
        if len(head) < 4:
            return
        (size,) = struct.unpack(">I", head)
        data = stream.read(size)
        if len(data) < size:
            return
        yield pickle.loads(data)


class Host:
    def __init__(self, out_fd: int, in_fd: int) -> None:
        self.out_fd = out_fd
        self.in_fd = in_fd
        self.pending: list[Any] = []
        self.run: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_requested = False
        self.ghosts_dirty = True
        self._flush_scheduled = False
        self._input = b""

    # -- talking to the studio --------------------------------------------------------------

    def send(self, item: Any) -> None:
        self.pending.append(item)
        if not self._flush_scheduled and self.loop is not None:
            self._flush_scheduled = True
            self.loop.call_later(FLUSH, self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        items, self.pending = self.pending, []
        if items:
            try:
                write_frame(self.out_fd, items)
            except BrokenPipeError:  # the studio went away: nobody to tell, stop the run
                self.request_stop()

    def read_header(self) -> dict[str, Any]:
        while b"\n" not in self._input:
            chunk = os.read(self.in_fd, 65536)
            if not chunk:
                raise EOFError("the studio closed the connection before sending the run")
            self._input += chunk
        line, _, self._input = self._input.partition(b"\n")
        return json.loads(line)

    def _on_input(self) -> None:
        try:
            chunk = os.read(self.in_fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:  # end of file: the studio is gone
            assert self.loop is not None
            self.loop.remove_reader(self.in_fd)
            self.request_stop()
            return
        self._input += chunk
        self._handle_input()

    def _handle_input(self) -> None:
        while b"\n" in self._input:
            line, _, self._input = self._input.partition(b"\n")
            if line.strip() == b"stop":
                self.request_stop()

    def request_stop(self) -> None:
        self.stop_requested = True
        if self.run is not None and self.loop is not None:
            self.run.cancel("stopped from the studio")

    # -- the run ----------------------------------------------------------------------------

    def on_event(self, rec: Any) -> None:
        self.send(rec)
        if isinstance(rec.event, _STRUCTURE):
            self.ghosts_dirty = True

    async def tick_ghosts(self) -> None:
        from studio.model.runmodel import GhostUpdate

        while True:
            if self.ghosts_dirty:
                self.ghosts_dirty = False
                self.send(GhostUpdate(project_ghosts(self.run)))
            await asyncio.sleep(GHOST_INTERVAL)

    async def execute(self) -> Any:
        loop = asyncio.get_running_loop()
        self.loop = loop
        loop.add_reader(self.in_fd, self._on_input)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        task = loop.create_task(self.run.execute())
        loop.call_soon(self._handle_input)  # a Stop that came with the header: once the run began
        ticker = loop.create_task(self.tick_ghosts())
        try:
            return await task
        finally:
            ticker.cancel()
            loop.remove_reader(self.in_fd)


def project_ghosts(run: Any) -> list[Any]:
    """The run's ghosts now; none once it is over."""
    if run is None or run.state.is_terminal:
        return []
    try:
        from engine.promises.projection import ghosts

        return list(ghosts(run.keeper, run.node_state))
    except Exception:  # noqa: BLE001 - a projection problem must not stop the run
        return []


def main() -> int:
    from engine.errors import RecordingFailed, WeftError
    from engine.history.store import Store
    from engine.running.run import Run
    from engine.workflow.loader import load_text
    from studio.model.runmodel import GhostUpdate, RunEnded

    out_fd, in_fd = sys.stdout.fileno(), sys.stdin.fileno()
    sys.stdout = sys.stderr  # nothing may write stray text into the frames
    host = Host(out_fd, in_fd)
    state, error = "failed", None
    store = None
    try:
        header = host.read_header()
        store = Store(Path(header["home"]))
        if header.get("resume"):  # its events are in the store: the studio has shown them already
            run = Run.resuming(store, header["resume"], restart=list(header.get("restart") or ()))
        else:
            path = Path(header["path"]) if header.get("path") else None
            loaded = load_text(
                header["text"], str(path or "<unsaved workflow>"), path if path else Path.cwd() / "untitled.weft.yaml"
            )
            run = Run(
                loaded, store, text=header["text"], run_id=header["run_id"], max_parallel=header.get("max_parallel")
            )
        for resolved in run.loaded.nodes.values():
            run.executor_for(resolved)  # EngineUnavailable when docker cannot be reached
        host.run = run
        run.subscribe(host.on_event)
        try:  # as `weft run` does: cheaper waiting for tasks on Python 3.11
            from engine.executors.local import use_pidfd_child_watcher

            use_pidfd_child_watcher()
        except ImportError:
            pass
        state = asyncio.run(host.execute()).value
    except RecordingFailed as exc:  # the run stopped: it could not record what it did
        error = str(exc)
    except (WeftError, EOFError) as exc:
        error = f"the run could not start: {exc}"
    except Exception:  # noqa: BLE001 - told to the studio, which shows it in the run panel
        error = "internal error in the engine:\n" + traceback.format_exc()
    finally:
        host.loop = None
        host.pending += [GhostUpdate([]), RunEnded(state, error)]
        host.flush()
        if store is not None:
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
