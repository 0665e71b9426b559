"""Which image a docker task runs, and making sure the engine has it.

A node's image is, first found: built from its ``build:`` directory; the node's or its
operator's ``image``; the workflow's ``settings.image``; ``$WEFT_DOCKER_IMAGE``;
``python:3.12-slim``. The last two let a person (or the test suite) point every workflow that
names no image at another one without editing it.

A built image is tagged with a hash of the build directory's content and of its build
arguments, ``weft-build/<operator>:<hash>``. An unchanged directory therefore is built once,
ever: later runs find the tag and use it as it is. The Dockerfile receives the image the node
would otherwise run as the build argument ``WEFT_BASE_IMAGE``, so ``ARG WEFT_BASE_IMAGE`` /
``FROM ${WEFT_BASE_IMAGE}`` extends the workflow's usual image. Builds use the classic
builder, which works offline from local images (BuildKit does not).

An image missing from the engine is pulled once per run (like ``docker run`` would); when that
fails, every task that needs it fails with the same one-line reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import stat
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound

from engine.errors import LaunchError
from engine.executors.base import TaskSpec
from engine.workflow.model import ResolvedNode

DEFAULT_IMAGE = "python:3.12-slim"
IMAGE_ENV = "WEFT_DOCKER_IMAGE"
BASE_IMAGE_ARG = "WEFT_BASE_IMAGE"
BUILD_REPOSITORY = "weft-build"

Blocking = Callable[..., Awaitable[Any]]
"""Runs a blocking SDK call off the event loop: ``await blocking(fn, *args, **kwargs)``."""


def default_image() -> str:
    return os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE


def build_dir(node: ResolvedNode, folder: Path) -> Path | None:
    return (folder / node.build).resolve() if node.build else None


def check_build(node: ResolvedNode, folder: Path) -> str | None:
    """Why ``node``'s build directory cannot be used, or None."""
    directory = build_dir(node, folder)
    if directory is None:
        return None
    if not directory.is_dir():
        return f"build: {node.build} is not a directory (relative to {folder})"
    if not (directory / "Dockerfile").is_file():
        return f"build: {node.build} has no Dockerfile"
    return None


def content_hash(directory: Path, build_args: dict[str, str]) -> str:
    """A hash of every file's relative path, executable bit and bytes, and of the build args."""
    h = hashlib.sha256()
    for key in sorted(build_args):
        h.update(f"arg {key}={build_args[key]}\0".encode())
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            rel = path.relative_to(directory).as_posix()
            try:
                mode = path.stat().st_mode
                data = path.read_bytes()
            except OSError as exc:
                raise LaunchError(f"cannot read {path} to build an image: {exc.strerror or exc}") from None
            h.update(f"file {rel} {int(bool(mode & stat.S_IXUSR))} {len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def repository_name(text: str) -> str:
    """An operator name as a valid image repository component (lowercase, [a-z0-9._-])."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower())
    name = re.sub(r"[._-]{2,}", "-", name).strip("._-")
    return name or "task"


def one_line(exc: BaseException) -> str:
    """The daemon's explanation of an SDK error, on one line."""
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())


class Images:
    def __init__(self, client: Any, blocking: Blocking, default: str | None = None) -> None:
        self.client = client
        self.blocking = blocking
        self.default = default or default_image()
        self._builds: dict[tuple[Path, str], asyncio.Future[str]] = {}
        self._pulls: dict[str, asyncio.Future[None]] = {}

    def base_image(self, spec: TaskSpec) -> str:
        """The image named for ``spec`` (node, operator, settings), else the default."""
        return spec.image or self.default

    async def image_for(self, spec: TaskSpec) -> str:
        """The image ``spec`` runs: built (at most once per run and directory) or named."""
        base = self.base_image(spec)
        folder = spec.folder or spec.cwd
        directory = build_dir(spec.node, folder)
        if directory is None:
            return base
        problem = check_build(spec.node, folder)
        if problem is not None:
            raise LaunchError(problem)
        args = {BASE_IMAGE_ARG: base}
        key = (directory, base)
        if key not in self._builds:
            self._builds[key] = _shared(self._built(directory, args, spec.node.operator or spec.node.id))
        return await asyncio.shield(self._builds[key])

    async def _built(self, directory: Path, args: dict[str, str], name: str) -> str:
        digest = await self.blocking(content_hash, directory, args)
        tag = f"{BUILD_REPOSITORY}/{repository_name(name)}:{digest[:16]}"
        try:
            await self.blocking(self.client.api.inspect_image, tag)
            return tag  # built before, from exactly this content: reuse it
        except ImageNotFound:
            pass
        except DockerException as exc:
            raise LaunchError(f"cannot look up image {tag}: {one_line(exc)}") from None
        await in_daemon_thread(self._build, directory, tag, args)
        return tag

    def _build(self, directory: Path, tag: str, args: dict[str, str]) -> None:
        last = ""
        try:
            for chunk in self.client.api.build(
                path=str(directory),
                tag=tag,
                buildargs=args,
                rm=True,
                forcerm=True,
                decode=True,
                labels={"weft.build": str(directory)},
            ):
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    raise LaunchError(f"cannot build an image from {directory}: {' '.join(str(detail).split())}")
                text = str(chunk.get("stream", "")).strip()
                if text:
                    last = text
        except DockerException as exc:
            raise LaunchError(f"cannot build an image from {directory}: {one_line(exc)}") from None
        if not last.startswith("Successfully"):
            raise LaunchError(f"cannot build an image from {directory}: the build ended with '{last}'")

    async def pull(self, image: str) -> None:
        """Pull ``image`` (once per run; every caller gets the same outcome)."""
        if image not in self._pulls:
            self._pulls[image] = _shared(in_daemon_thread(self._pull, image))
        await asyncio.shield(self._pulls[image])

    def _pull(self, image: str) -> None:
        try:
            self.client.images.pull(image)
        except (APIError, DockerException) as exc:
            raise LaunchError(
                f"image '{image}' is not on this machine and cannot be pulled ({one_line(exc)}); "
                f"pull or build it, or name another one (image:, settings.image, "
                f"${IMAGE_ENV})"
            ) from None


def _shared(work: Awaitable[Any]) -> asyncio.Future[Any]:
    """A future several tasks await (shielded): its outcome counts as seen even if all give up."""
    future = asyncio.ensure_future(work)
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


async def in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a thread of its own that does not keep the process alive.

    Builds and pulls may take minutes. After Ctrl+C, ``weft`` must exit at once rather than wait
    for them (as it would for a pool's thread); leaving drops the connection, which ends the
    build on the engine's side.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: Any, failed: bool) -> None:
        if not future.done():
            future.set_exception(outcome) if failed else future.set_result(outcome)

    def work() -> None:
        try:
            outcome, failed = fn(*args), False
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            outcome, failed = exc, True
        try:
            loop.call_soon_threadsafe(settle, outcome, failed)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=work, name="weft-docker-image", daemon=True).start()
    return await future
