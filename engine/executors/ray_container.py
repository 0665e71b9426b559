"""The plan of a ``ray`` task that runs in a container on its Ray node (``ray_remote_docker``).

Everything the docker executor decides about a container is decided here the same way, from
the engine's side, as plain data the node turns into ``docker create`` arguments: the image (or
the ``build:`` folder and the tag its content hashes to), the argv (library scripts rewritten to
``/opt/weft-libraries``), the environment (the node's ``env`` and Weft's variables, never the
engine's environment), the mounts *as the Ray node sees them*, the limits, the network and the
labels ``weft.run`` / ``weft.node`` / ``weft.attempt`` by which the node finds it to stop it.

Paths: the run's workspace is ``settings.ray.workspace/RUN`` on the node (else the engine's own
path), mounted at ``/workspace``; the workflow folder and library folders at the same path as
on the engine's machine (as for a ray process, whose working folder is that path), mounted
read-only; the helper is the node's own copy (``None`` here: the node fills it in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import LaunchError
from engine.executors.base import TaskSpec
from engine.executors.docker import effective_limits, hidden_home, library_argv
from engine.executors.docker_container import HELPER, WORKFLOW, WORKSPACE, task_workdir
from engine.executors.docker_images import (
    BASE_IMAGE_ARG,
    BUILD_REPOSITORY,
    build_dir,
    check_build,
    content_hash,
    default_image,
    repository_name,
)
from engine.workflow.model import ResolvedNode

HIDE = "ro,nosuid,nodev,noexec"


def in_container(node: ResolvedNode) -> bool:
    """Does a ray task of ``node`` run in a container? (It names an image or a build folder.)"""
    return bool(node.image or node.build)


def refusal(node: ResolvedNode, folder: Path, library_image: bool) -> str | None:
    """Why ``node``'s container cannot run on the ray executor at all, or None."""
    if library_image:
        return (
            f"node '{node.id}': image {node.image} is built from a library, which the ray executor "
            "does not do yet: build it on the Ray nodes and name its tag, or use executor: docker"
        )
    problem = check_build(node, folder)
    return f"node '{node.id}': {problem}" if problem else None


def plan(spec: TaskSpec, node_workspace: str) -> dict[str, Any]:
    """What ``ray_remote_docker.container_task`` runs for ``spec`` (blocking: hashes a build folder)."""
    node = spec.node
    folder = (spec.folder or spec.cwd).resolve()
    problem = refusal(node, folder, spec.library_image is not None)
    if problem is not None:
        raise LaunchError(problem)
    base = spec.image or default_image()
    build: dict[str, Any] | None = None
    directory = build_dir(node, folder)
    if directory is not None:
        args = {BASE_IMAGE_ARG: base}
        digest = content_hash(directory, args)
        tag = f"{BUILD_REPOSITORY}/{repository_name(node.operator or node.id)}:{digest[:16]}"
        build = {"directory": str(directory), "tag": tag, "args": args}
    argv, library_binds = library_argv(list(spec.argv), spec.cwd, folder, spec.libraries)
    binds: list[tuple[str | None, str, str]] = [
        (node_workspace, WORKSPACE, "rw"),
        (str(folder), WORKFLOW, "ro"),
        (None, HELPER, "ro"),
    ]
    binds += [(source, bind["bind"], bind["mode"]) for source, bind in library_binds.items()]
    home = hidden_home(folder, spec.home, spec.workspace.resolve().parent)
    env = dict(node.env)
    for key in ("WEFT_RUN", "WEFT_NODE"):
        env[key] = spec.env[key]
    env["WEFT_WORKSPACE"] = WORKSPACE
    env["PYTHONPATH"] = ":".join(filter(None, [HELPER, node.env.get("PYTHONPATH")]))
    try:
        limits = effective_limits(node.resources)
    except ValueError as exc:
        raise LaunchError(f"resources: {exc}") from None
    return {
        "image": base,
        "build": build,
        "argv": argv,
        "env": env,
        "workdir": task_workdir(node.workdir),
        "binds": binds,
        "tmpfs": [(home, HIDE)] if home is not None else [],
        "network": bool(node.network),
        "limits": limits,
        "labels": dict(spec.labels),
        "folder": str(folder),
        "workspace": node_workspace,
    }


def image_identity(node: ResolvedNode, folder: Path, image: str | None) -> str | None:
    """For the cache key: the ``build:`` folder's content hash, else the image's name (its id is
    known only to the Docker engine of the node a task lands on)."""
    directory = build_dir(node, folder)
    base = image or default_image()
    if directory is not None:
        problem = check_build(node, folder)
        if problem is not None:
            raise LaunchError(problem)
        return "build:" + content_hash(directory, {BASE_IMAGE_ARG: base})
    return "ray-image:" + base
