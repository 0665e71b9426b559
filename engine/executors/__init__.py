"""Executors run tasks; one module per executor behind ``engine.executors.base``."""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.executors.base import Executor
from engine.workflow.model import EXECUTORS, Settings


def make_executor(name: str, settings: Settings | None = None, ray_address: str | None = None) -> Executor:
    """The executor ``name``; ``ray`` joins the cluster at ``ray_address`` (the command line's),
    else ``settings.ray.address``, else ``$RAY_ADDRESS``, else starts a local Ray."""
    if name == "local":
        from engine.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "docker":
        from engine.executors.docker import DockerExecutor

        return DockerExecutor()  # EngineUnavailable, saying what to do, when no engine answers
    if name == "ray":
        from engine.executors.ray import RayExecutor

        ray = (settings.ray if settings is not None else None) or {}
        return RayExecutor(ray_address or ray.get("address"), ray.get("workspace"))  # EngineUnavailable without Ray
    raise InvalidInput(f"unknown executor '{name}' (one of {', '.join(EXECUTORS)})")
