"""Reusing a node's earlier result (SPEC §9 "Cache").

A node with ``cache: true`` (its own, its operator's, or ``settings.cache``) gets a key when it
is about to start: a sha256 over what decides its result (``cache_key``). If an earlier
succeeded attempt, of any run in the same home, left a result under that key, the node takes
it instead of running: its output files are copied into this run's workspace and the run
replays its outputs and graph changes (``engine.running.run.Run._reuse``). Otherwise the task
runs, and when it succeeds its result is queued here and stored under the key in the same
transaction as the events that record its success (``Store.append``).

The key covers the node's id (its task is told it, and a dynamic node's changes name it), the
argv, ``shell``, the node's own ``env`` and ``workdir``, the executor, the image's identity
(the id the Docker engine gives it, or the content hash of its ``build:`` folder), ``params``,
the declared ports, the input values (``file`` values by content), and the content of every
file inside the workflow's folder that an argv element names. It does not cover the rest of
the environment, files the argv does not name (a module a script imports), files outside the
workflow's folder, the network or the clock: a task depending on those must not say
``cache: true``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from engine.errors import InvalidInput, LaunchError
from engine.executors.base import Executor
from engine.history.store import CacheRow, Store
from engine.promises.graph import RunGraph
from engine.running.taskspec import inputs_for
from engine.workflow.argv import argv_of, named_words
from engine.workflow.model import ResolvedNode, Workflow

#: Changes when what a key covers changes: older entries then simply never match.
KEY_VERSION = 1
CHUNK = 1024 * 1024  # bytes read at a time when hashing a file


class CacheHost(Protocol):
    """What the cache needs of its run (``engine.running.run.Run``)."""

    id: str
    graph: RunGraph
    workflow: Workflow
    store: Store
    workspace: Path
    outputs: dict[str, dict[str, Any]]
    default_executor: str

    def executor_for(self, resolved: ResolvedNode) -> Executor: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """An earlier result ``node`` may take: its output files are already in this workspace."""

    key: str
    run: str
    outputs: dict[str, Any]
    mutations: list[dict[str, Any]]


class _NoKey(Exception):
    """Something the key must cover cannot be known (a missing input file, an unknown image)."""


class FileHashes:
    """sha256 of files, each read once per (path, mtime, size) while the run lives: a thousand
    nodes naming the same script hash it once."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}

    def of(self, path: str) -> str | None:
        """The file's hash, or None if ``path`` is not a regular file (or cannot be read)."""
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        mark = (path, st.st_mtime_ns, st.st_size)
        digest = self._known.get(mark)
        if digest is None:
            h = hashlib.sha256()
            try:
                with open(path, "rb") as f:
                    while chunk := f.read(CHUNK):
                        h.update(chunk)
            except OSError:
                return None
            digest = self._known[mark] = h.hexdigest()
        return digest


def cache_key(
    node: str,
    resolved: ResolvedNode,
    argv: list[str],
    executor: str,
    image: str | None,
    inputs: dict[str, Any],
    files: dict[str, str],
) -> str:
    """The key of one attempt: sha256 of a canonical JSON of everything it covers."""
    covered = {
        "v": KEY_VERSION,
        "node": node,
        "argv": argv,
        "shell": resolved.shell,
        "env": resolved.env,
        "workdir": resolved.workdir,
        "executor": executor,
        "image": image,
        "params": resolved.params,
        "ports": [resolved.inputs, resolved.outputs],
        "inputs": inputs,
        "files": files,
    }
    text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class NodeCache:
    """One run's side of the cache: keys of nodes about to start, hits, and the results of
    succeeded attempts waiting to be stored with their events."""

    def __init__(self, run: CacheHost, use_hits: bool = True) -> None:
        self.run = run
        #: False (`weft run --no-cache`): no hit is taken; results are still stored
        self.use_hits = use_hits
        self._hashes = FileHashes()
        self._keys: dict[str, str] = {}  # node -> key of its current attempt (missed)
        self._queued: list[CacheRow] = []
        #: the nodes that took an earlier result (their state says whether replaying it succeeded)
        self.hits: set[str] = set()
        self._inside: dict[tuple[str, str], str | None] = {}  # (cwd, word) -> path in the folder, or None
        self._folder = os.path.realpath(run.workflow.folder)
        self._images: dict[tuple[str, str | None, str | None], str | None | _NoKey] = {}

    # -- before a start ------------------------------------------------------------------------

    def find(self, node: str) -> Hit | None:
        """The earlier result ``node`` takes instead of running, or None: it runs (and its
        result is stored if it succeeds)."""
        self._keys.pop(node, None)
        try:
            key = self.key_of(node)
        except (_NoKey, OSError, ValueError):
            return None
        self._keys[node] = key
        if not self.use_hits:
            return None
        try:
            row = self.run.store.cached(key)
            if row is None:
                return None
            hit = Hit(key, row.run, json.loads(row.outputs), json.loads(row.mutations))
            if not self._copy_files(row):
                return None
        except (sqlite3.Error, ValueError):  # unreadable for a moment, or a damaged entry: a miss
            return None
        self.hits.add(node)
        return hit

    def key_of(self, node: str) -> str:
        run = self.run
        resolved = run.graph.resolved[node]
        executor_name = resolved.executor or run.default_executor
        argv = argv_of(resolved)
        inputs, problem = inputs_for(run.graph, node, resolved, run.outputs, str(run.workspace))
        if problem is not None:
            raise _NoKey(problem)  # the task fails anyway; nothing to reuse or store
        registry = run.graph.registry
        by_content = {
            port: registry.map_files(value, registry.parse(resolved.inputs[port]), self._content)
            for port, value in inputs.items()
        }
        cwd = os.path.join(run.workflow.folder, resolved.workdir) if resolved.workdir else str(run.workflow.folder)
        files: dict[str, str] = {}
        for word in named_words(argv, resolved.shell):
            rel = self._in_folder(cwd, word)
            if rel is not None:
                digest = self._hashes.of(os.path.join(self._folder, rel))
                if digest is not None:
                    files[rel] = digest
        image = self._image(resolved, executor_name)
        return cache_key(node, resolved, argv, executor_name, image, by_content, files)

    def _content(self, path: str) -> str:
        digest = self._hashes.of(path)
        if digest is None:
            raise _NoKey(f"input file {path} is missing")
        return "sha256:" + digest

    def _in_folder(self, cwd: str, word: str) -> str | None:
        """``word`` as the path of a file inside the workflow's folder (relative to it), or None.
        Symbolic links are followed only as far as they stay inside the folder."""
        if (cwd, word) in self._inside:
            return self._inside[(cwd, word)]
        rel: str | None = None
        if word and "\0" not in word and len(word) < 4096:
            path = os.path.join(cwd, word)
            if os.path.isfile(path):
                real = os.path.realpath(path)
                if real.startswith(self._folder + os.sep):
                    rel = os.path.relpath(real, self._folder)
        self._inside[(cwd, word)] = rel
        return rel

    def _image(self, resolved: ResolvedNode, executor_name: str) -> str | None:
        mark = self._image_mark(resolved, executor_name)
        if mark not in self._images:
            try:
                executor = self.run.executor_for(resolved)
            except InvalidInput as exc:  # e.g. no Docker engine answers: the task says so when it starts
                raise _NoKey(str(exc)) from None
            self._images[mark] = self._identity(executor, resolved)
        identity = self._images[mark]
        if isinstance(identity, _NoKey):
            raise identity
        return identity

    def _image_mark(self, resolved: ResolvedNode, executor_name: str) -> tuple[str, str | None, str | None]:
        return (executor_name, resolved.build, resolved.image or self.run.workflow.settings.image)

    def _identity(self, executor: Executor, resolved: ResolvedNode) -> str | None | _NoKey:
        image = resolved.image or self.run.workflow.settings.image
        try:
            library = self.run.workflow.images.get(image) if image else None
            return executor.image_identity(resolved, self.run.workflow.folder, image, library)
        except LaunchError as exc:
            return _NoKey(str(exc))

    async def prepare(self) -> None:
        """Ask for the identity of every image a cached node of the workflow runs, off the
        event loop, before anything starts (the Docker engine answers in milliseconds, a
        ``build:`` folder is read whole). Nodes created later are asked when they start."""
        for resolved in list(self.run.graph.resolved.values()):
            executor_name = resolved.executor or self.run.default_executor
            mark = self._image_mark(resolved, executor_name)
            if resolved.cache and executor_name != "local" and mark not in self._images:
                try:
                    executor = self.run.executor_for(resolved)
                except InvalidInput:  # no engine: the node says so when it starts
                    continue
                self._images[mark] = await asyncio.to_thread(self._identity, executor, resolved)

    def _copy_files(self, row: CacheRow) -> bool:
        """Copy the entry's output files from its run's workspace into this one; False if one
        of them is gone (the entry is then a miss)."""
        files = json.loads(row.files)
        if not files:
            return True
        source = self.run.store.workspace(row.run)
        pairs = []
        for rel in files:
            parts = PurePosixPath(rel).parts
            if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
                return False
            src, dst = source.joinpath(*parts), self.run.workspace.joinpath(*parts)
            if not src.is_file():
                return False
            pairs.append((src, dst))
        if source == self.run.workspace:
            return True  # this run's own earlier result: the files are where they were
        try:
            for src, dst in pairs:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        except OSError:
            return False
        return True

    # -- after a success -----------------------------------------------------------------------

    def succeeded(self, node: str, outputs: dict[str, Any], mutations: list[dict[str, Any]]) -> None:
        """Queue the result of ``node``'s succeeded attempt, if it has a key, to be stored with
        the events of this success (``take``)."""
        key = self._keys.pop(node, None)
        if key is None:
            return
        resolved = self.run.graph.resolved[node]
        registry = self.run.graph.registry
        files: list[str] = []
        for name, value in outputs.items():
            if name in resolved.outputs:
                registry.map_files(value, registry.parse(resolved.outputs[name]), _collect(files))
        self._queued.append(
            CacheRow(key, self.run.id, node, time.time(), _json(outputs), _json(mutations), _json(files))
        )

    def take(self) -> list[CacheRow]:
        """The queued results, to store with the events being written now."""
        rows, self._queued = self._queued, []
        return rows

    def give_back(self, rows: list[CacheRow]) -> None:
        """Results whose write was refused: stored with the next try."""
        self._queued[:0] = rows


def _collect(into: list[str]) -> Callable[[str], str]:
    def note(path: str) -> str:
        into.append(path)
        return path

    return note


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
