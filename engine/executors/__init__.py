"""Executors run tasks; one module per executor behind ``engine.executors.base``."""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.executors.base import Executor
from engine.workflow.model import EXECUTORS


def make_executor(name: str) -> Executor:
    if name == "local":
        from engine.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "docker":
        from engine.executors.docker import DockerExecutor

        return DockerExecutor()  # EngineUnavailable, saying what to do, when no engine answers
    raise InvalidInput(f"unknown executor '{name}' (one of {', '.join(EXECUTORS)})")
