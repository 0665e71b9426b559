"""The engine's errors form one hierarchy (``engine.errors``): a caller can tell what failed
(a task, the run, the input) by the class, and every error a person sees is a ``WeftError``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import engine
from engine.errors import (
    InvalidInput,
    LaunchError,
    MutationRejected,
    ProtocolError,
    RunBroken,
    ShapeError,
    TaskFailure,
    WeftError,
)

#: signals that never leave their module: each is turned into a WeftError where it is caught
INTERNAL = {
    "engine.languages.shape.Undecided": "a search past its budget; the matcher answers 'still possible'",
    "engine.workflow.files.Unreadable": "read_text turns it into InvalidInput with the file's path",
    "engine.imports.argo_expr.Untranslatable": "the Argo importer turns it into a located problem of the import",
}


def test_every_public_exception_of_the_engine_is_a_weft_error() -> None:
    outside = []
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        if info.name.startswith("engine.taskhelper"):  # one-file helpers copied into tasks
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            where = f"{cls.__module__}.{cls.__qualname__}"
            if cls.__module__ != info.name or name.startswith("_") or where in INTERNAL:
                continue
            if issubclass(cls, BaseException) and not issubclass(cls, WeftError):
                outside.append(where)
    assert outside == []


def test_a_task_fails_for_one_of_three_reasons_and_a_bad_pattern_is_bad_input() -> None:
    assert all(issubclass(cls, TaskFailure) for cls in (MutationRejected, ProtocolError, LaunchError))
    assert not issubclass(RunBroken, TaskFailure) and RunBroken.exit_code == 3
    assert issubclass(ShapeError, InvalidInput)
    assert str(ShapeError("unexpected '->'", 4, "Loop")) == "where.Loop: column 5: unexpected '->'"
