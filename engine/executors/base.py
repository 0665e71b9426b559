"""What every executor provides: start a task, stream its lines, wait, stop it.

The run never knows whether a task is a process or a container. It hands a ``TaskSpec``
(the plan: argv, env, the start message) to ``Executor.launch`` and gets a ``TaskProcess``
(the bound, running thing). Executors translate workspace paths, because a container sees
the workspace somewhere else than the host does.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import shipped
from engine.workflow.libraries import LibraryImage
from engine.workflow.model import ResolvedNode

#: The folder of ``weft_task``, the one-file helper every task may import: on a process's
#: PYTHONPATH, mounted read-only into a container.
HELPER_DIR = shipped.task_helper()

LineSink = Callable[[str, bytes], None]
"""Called with ("stdout" | "stderr", raw line) for every line a task writes."""


@dataclass
class TaskSpec:
    run: str
    node: ResolvedNode
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    workspace: Path
    start_line: bytes
    image: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    #: The workflow file's folder (``cwd`` is it, or ``workdir`` inside it); ``build:`` and a
    #: container's ``/workflow`` mount are relative to it.
    folder: Path | None = None
    #: The Weft home (run database, every run's workspace): never visible to a task, even
    #: when it lies inside the workflow's folder.
    home: Path | None = None
    #: ``image`` names a library image (``weft:base``): what it is built from
    library_image: LibraryImage | None = None
    #: the library folders by name, mounted for a container whose argv names a script in one
    libraries: dict[str, Path] = field(default_factory=dict)


class TaskProcess(abc.ABC):
    @abc.abstractmethod
    async def pump(self, sink: LineSink) -> None:
        """Deliver every line of stdout and stderr to ``sink`` until both end.

        Raises ``engine.errors.ProtocolError`` for a line over the size limit; exceptions
        raised by ``sink`` propagate (the caller stops the task).
        """

    @abc.abstractmethod
    async def wait(self) -> int:
        """The exit code; negative for "killed by signal N"."""

    @abc.abstractmethod
    async def stop(self, grace: float = 2.0) -> None:
        """Ask the task to end, and make sure it has ended after ``grace`` seconds."""


class Executor(abc.ABC):
    name: str = "?"

    @abc.abstractmethod
    def task_workspace(self, host_workspace: Path, node: ResolvedNode | None = None) -> str:
        """The workspace path as a task of ``node`` sees it (decided per attempt: on the ray
        executor a node in a container sees ``/workspace``, a process the Ray node's path)."""

    def check(self, node: ResolvedNode, folder: Path) -> None:  # noqa: B027 - an optional hook
        """Raise ``engine.errors.InvalidInput`` if ``node`` can never run here (before a run starts)."""

    @abc.abstractmethod
    async def launch(self, spec: TaskSpec) -> TaskProcess:
        """Start the task and write its start line; raise ``LaunchError`` if it cannot start.

        ``TaskProcess.wait`` may raise ``LaunchError`` too, where a failed start shows only
        later (a container whose command does not exist).
        """

    def image_identity(
        self, node: ResolvedNode, folder: Path, image: str | None, library: LibraryImage | None = None
    ) -> str | None:
        """What identifies the image ``node``'s tasks run, for the cache key (``engine.running.cache``):
        None where tasks run in no image. Blocking; raises ``LaunchError`` if it cannot be known."""
        return None

    async def close(self) -> None:  # noqa: B027 - an optional hook
        """Release whatever the executor holds (warm containers, clients)."""

    async def sweep(self, run: str) -> None:  # noqa: B027 - an optional hook
        """Remove what tasks of run ``run`` left behind when its engine process died (resume)."""
