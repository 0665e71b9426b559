"""The engine's small exception hierarchy.

Everything a user can get wrong is reported as a ``WeftError`` subclass whose ``str()`` is a
one-line reason (with a location where there is one). The CLI prints that line and exits with
``exit_code``; it never shows a traceback for these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A place in a source text: file, 1-based line and 1-based column.

    ``file`` may also name a non-file source, e.g. ``task 'plan' message 3``; then line and
    column are 0 and ``path`` says where inside that message the problem is.
    """

    file: str
    line: int = 0
    column: int = 0
    path: str = ""

    def shifted(self, columns: int) -> Location:
        """The location ``columns`` characters further on the same line (for sub-expressions)."""
        if self.line == 0:
            return self
        return Location(self.file, self.line, self.column + columns, self.path)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}"
        if self.path:
            where += f": {self.path}"
        return where


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, at one place."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class WeftError(Exception):
    """Base of every error the engine reports to a person."""

    exit_code = 1


class InvalidInput(WeftError):
    """Bad arguments, unreadable files, an unknown run: exit code 2."""

    exit_code = 2


@dataclass
class WorkflowInvalid(InvalidInput):
    """A workflow text with one or more problems, all of them collected before raising."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ExpressionError(WeftError):
    """A `when` expression that does not parse, or fails while being evaluated.

    ``offset`` is the 0-based character offset inside the expression text where the problem
    is, so callers can turn it into a file location.
    """

    exit_code = 2

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class TypeSyntaxError(WeftError):
    """A port type text that is not a valid type (``list[``, ``dict[int, str]``, ...)."""

    exit_code = 2


class ValueTypeError(WeftError):
    """A value that does not match its declared port type; the message names where inside
    (``path``, e.g. ``counts['the']``) and why (``reason``), for callers that reformat it."""

    path: str = ""
    reason: str = ""


class ShapeError(InvalidInput):
    """A shape pattern that cannot be read: ``offset`` is the 0-based column in its text."""

    def __init__(self, message: str, offset: int, name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.name = name  #: the ``where:`` entry it is in, None for the pattern itself

    def __str__(self) -> str:
        where = f"where.{self.name}: " if self.name else ""
        return f"{where}column {self.offset + 1}: {self.message}"


class TaskFailure(WeftError):
    """One task must fail now, with this one-line reason; the run goes on without it."""


class MutationRejected(TaskFailure):
    """A task's graph change that is malformed, breaks mutation rule 1-3 or 6, or comes after
    the run ended: nothing of it is applied and the task fails."""


class ProtocolError(TaskFailure):
    """A task wrote a malformed ``weft`` message or an overlong line: the task fails."""


class LaunchError(TaskFailure):
    """The task could not be started (command not found, image missing, ...): it fails."""


class TaskLost(WeftError):
    """The machine running the task went away mid-task (a Ray node died): this attempt fails
    with the reason, and a retry may run elsewhere."""


class ExecutorGone(WeftError):
    """The executor's backend vanished while the run used it (a whole Ray cluster): the run
    stops where it is, `interrupted`, and `weft resume` continues it once the backend is back."""


class RunBroken(WeftError):
    """A mutation broke a promise, or a region's form is certain to be broken before a start:
    the run is already marked broken and stops. Raised to unwind whoever was checking."""

    exit_code = 3


class RecordingFailed(WeftError):
    """The run database refused a write: locked by another process for too long, a full disk,
    a read-only or broken file. A run that cannot record what it does stops (SPEC §9).

    ``busy`` tells a database that another writer holds (worth waiting for) from one that
    cannot take the write at all.
    """

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


class EngineUnavailable(InvalidInput):
    """An executor's backend (e.g. a Docker engine) cannot be reached."""


class ProblemCollector:
    """Collects problems so a validator can report all of them at once, then raise once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, location: Location, message: str) -> None:
        self.problems.append(Problem(location, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise WorkflowInvalid(sorted(self.problems, key=lambda p: p.location))
