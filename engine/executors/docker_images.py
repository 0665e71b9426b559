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

A library image (``image: weft:base``, ``engine.workflow.libraries``) is built the same way,
from its ``images/NAME`` folder, after the library images its ``FROM LIBRARY:NAME`` lines name
(parents first): each such FROM is replaced by the parent's built tag in the Dockerfile sent
to the engine, and the parent's tag is part of the child's hash, so a changed parent gets a new
tag and rebuilds every image built on it, while unchanged ones are reused. A root library
image that declares ``ARG WEFT_BASE_IMAGE`` receives the default image (``$WEFT_DOCKER_IMAGE``,
else ``python:3.12-slim``): the shipped ``weft:base`` is ``FROM ${WEFT_BASE_IMAGE}``.

An image missing from the engine is pulled once per run (like ``docker run`` would); when that
fails, every task that needs it fails with the same one-line reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import stat
import tarfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound

from engine.errors import LaunchError
from engine.executors.base import TaskSpec
from engine.workflow.libraries import ImageLayer, LibraryImage, translate_from
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


def library_tags(plan: LibraryImage, default: str) -> dict[str, tuple[str, dict[str, str], str]]:
    """For each layer of ``plan``: its tag, the build args it is given, and its Dockerfile with
    every ``FROM LIBRARY:NAME`` translated to the parent's tag. Blocking (reads the folders).

    A layer's tag hashes its folder, its args and its parents' tags: a changed parent changes
    every tag built on it."""
    out: dict[str, tuple[str, dict[str, str], str]] = {}
    for layer in plan.layers:
        dockerfile = _dockerfile(layer)
        args = {BASE_IMAGE_ARG: default} if BASE_IMAGE_ARG in dockerfile else {}
        parents = {ref: out[ref][0] for ref in layer.parents}
        digest = content_hash(layer.directory, {**args, **{f"FROM {ref}": tag for ref, tag in parents.items()}})
        tag = f"{BUILD_REPOSITORY}/{repository_name(layer.ref)}:{digest[:16]}"
        out[layer.ref] = (tag, args, translate_from(dockerfile, parents))
    return out


def _dockerfile(layer: ImageLayer) -> str:
    try:
        return (layer.directory / "Dockerfile").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LaunchError(f"cannot read the Dockerfile of image {layer.ref}: {exc}") from None


def context_with(directory: Path, dockerfile: str) -> io.BytesIO:
    """The build context of ``directory`` as a tar, with ``dockerfile`` as its Dockerfile."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                rel = path.relative_to(directory).as_posix()
                if rel != "Dockerfile":
                    tar.add(str(path), arcname=rel, recursive=False)
        data = dockerfile.encode("utf-8")
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


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
        if spec.library_image is not None:
            base = await self.library_image(spec.library_image)
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

    async def library_image(self, plan: LibraryImage) -> str:
        """The tag of library image ``plan``, built with its parents (each once per run)."""
        tags = await self.blocking(library_tags, plan, self.default)
        for layer in plan.layers:
            tag, args, dockerfile = tags[layer.ref]
            key = (layer.directory, tag)
            if key not in self._builds:
                self._builds[key] = _shared(self._present(layer.directory, tag, args, dockerfile))
            await asyncio.shield(self._builds[key])
        return tags[plan.ref][0]

    async def _built(self, directory: Path, args: dict[str, str], name: str) -> str:
        digest = await self.blocking(content_hash, directory, args)
        tag = f"{BUILD_REPOSITORY}/{repository_name(name)}:{digest[:16]}"
        return await self._present(directory, tag, args)

    async def _present(self, directory: Path, tag: str, args: dict[str, str], dockerfile: str | None = None) -> str:
        """``tag``, built from ``directory`` unless the engine has it already."""
        try:
            await self.blocking(self.client.api.inspect_image, tag)
            return tag  # built before, from exactly this content: reuse it
        except ImageNotFound:
            pass
        except DockerException as exc:
            raise LaunchError(f"cannot look up image {tag}: {one_line(exc)}") from None
        await in_daemon_thread(self._build, directory, tag, args, dockerfile)
        return tag

    def _build(self, directory: Path, tag: str, args: dict[str, str], dockerfile: str | None = None) -> None:
        last = ""
        where: dict[str, Any] = {"path": str(directory)}
        if dockerfile is not None:  # FROM LIBRARY:NAME translated: the context is sent as a tar
            where = {"fileobj": context_with(directory, dockerfile), "custom_context": True}
        try:
            for chunk in self.client.api.build(
                **where,
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
