"""Libraries: named folders of operator files, workflow files and images (SPEC §10).

A workflow names a library item as ``LIBRARY:NAME`` (``operator: weft:read``,
``workflow: weft:clean``, ``image: weft:base``); this module says which library folders a
workflow sees, by name, and where an item of each kind is:

- an **operator** is found in the library's *operator files*: the ``*.weft.yaml`` files at the
  top of the folder that have ``operators:`` and no ``nodes:``. Exactly one of them must define
  NAME; two that do are an error naming both (no file order decides silently).
- a **workflow** is the file ``NAME.weft.yaml`` at the top of the folder.
- an **image** is the folder ``images/NAME`` with a ``Dockerfile``; its ``FROM LIBRARY:OTHER``
  lines name other library images (``image_plan`` orders them, parents first).

Where the folders come from, first of a name wins: ``weft`` (shipped) and ``my``
(``$WEFT_HOME/operators``) always; then ``weft run|validate --library DIR`` (repeatable), then
the workflow's ``settings.libraries``, then ``$WEFT_LIBRARY_PATH``. Each is named by its
folder's name. ``settings.libraries`` is written in a workflow someone may hand to you, so its
folders must lie inside the workflow's folder (symlinks followed), as ``build:`` and ``workdir``
must: a library elsewhere is one the person running declares (``--library``, the environment).
A workflow included by another (``workflow:``) is given every folder its includer sees first, so
its own ``settings.libraries`` only add names (``engine.workflow.loader.handed_down``).

Nothing is cached between calls: a library changed on disk is seen by the next load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine import shipped
from engine.errors import InvalidInput, ProblemCollector
from engine.home import default_home
from engine.workflow.files import Unreadable, read_bounded
from engine.workflow.yamlsrc import parse_yaml

#: The library Weft ships (the studio's palette offers it too).
SHIPPED_LIBRARY = shipped.operators()
SHIPPED = "weft"
MINE = "my"
LIBRARY_SUFFIX = ".weft.yaml"
KINDS = ("operator", "workflow", "image")
#: ``LIBRARY:NAME``: a library name (letters, digits, ``_``, ``-``) and an item name.
REF = re.compile(r"([A-Za-z_][\w-]*):([A-Za-z0-9_][\w.-]*)")
#: Larger operator files are not read (as imports: a library is written by hand).
MAX_LIBRARY_BYTES = 4 * 1024 * 1024


class LibraryMiss(InvalidInput):
    """Why ``LIBRARY:NAME`` names nothing usable: one line, which the caller places (the
    loader turns it into a located problem); unplaced, it is bad input (exit 2)."""


def parse_ref(text: str) -> tuple[str, str] | None:
    """``(library, name)`` of a ``LIBRARY:NAME`` text, or None if it is not one."""
    found = REF.fullmatch(text)
    return (found.group(1), found.group(2)) if found else None


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def libraries(extra: Iterable[Path | str] = (), declared: Iterable[Path | str] = ()) -> dict[str, Path]:
    """The library folders by name (each resolved): ``weft``, ``my``, then ``extra`` (the
    command line), ``declared`` (a workflow's ``settings.libraries``, already absolute and
    checked), then ``$WEFT_LIBRARY_PATH``; the first folder of a name wins."""
    named: dict[str, Path] = {SHIPPED: SHIPPED_LIBRARY, MINE: default_home() / "operators"}
    env = [entry for entry in os.environ.get("WEFT_LIBRARY_PATH", "").split(os.pathsep) if entry]
    for entry in [*extra, *declared, *env]:
        folder = _real(entry)
        named.setdefault(folder.name, folder)
    return {name: _real(folder) for name, folder in named.items()}


def seen_from(declared: Iterable[str], workflow_folder: Path, extra: Iterable[Path | str] = ()) -> dict[str, Path]:
    """The library folders by name that a workflow in ``workflow_folder`` with
    ``settings.libraries`` ``declared`` sees (``extra``: the command line's, or those an including
    workflow hands down). Entries that may not be used are left out; the loader reports them."""
    usable = [workflow_folder / text for text in declared if declared_problem(text, workflow_folder) is None]
    return libraries(extra, usable)


def declared_problem(text: str, workflow_folder: Path) -> str | None:
    """Why ``settings.libraries`` entry ``text`` (relative to the workflow's folder) may not be
    used, or None."""
    if os.path.isabs(text):
        return "is an absolute path; a library of settings.libraries must be a folder inside the workflow's folder"
    root = _real(workflow_folder)
    folder = _real(root / text)
    if not folder.is_relative_to(root):
        return (
            "leaves the workflow's folder (symlinks followed); use `--library DIR` or $WEFT_LIBRARY_PATH "
            "for a library elsewhere"
        )
    if not folder.is_dir():
        return "is not a folder"
    return None


def folder_of(library: str, known: Mapping[str, Path]) -> Path:
    folder = known.get(library)
    if folder is None:
        raise LibraryMiss(f"no library named '{library}' (libraries: {', '.join(known)})")
    return folder


def locate(kind: str, ref: str, known: Mapping[str, Path]) -> Path:
    """The file (operator, workflow) or folder (image) that ``LIBRARY:NAME`` of ``kind`` names.

    For an operator, the operator file that defines it. Raises ``LibraryMiss`` with one line."""
    parsed = parse_ref(ref)
    if parsed is None:
        raise LibraryMiss(f"'{ref}' is not LIBRARY:NAME")
    library, name = parsed
    folder = folder_of(library, known)
    if kind == "operator":
        return _operator_file(library, name, folder)
    if kind == "workflow":
        file = _real(folder / (name if name.endswith(LIBRARY_SUFFIX) else name + LIBRARY_SUFFIX))
        if not file.is_relative_to(folder):
            raise LibraryMiss(f"workflow '{ref}' leaves the library '{library}'")
        if not file.is_file():
            names = ", ".join(sorted(p.name[: -len(LIBRARY_SUFFIX)] for p in workflow_files(folder))) or "none"
            raise LibraryMiss(f"library '{library}' has no workflow '{name}' (workflows: {names})")
        return file
    if kind == "image":
        images = folder / "images"
        directory = _real(images / name)
        if not directory.is_relative_to(_real(images)):
            raise LibraryMiss(f"image '{ref}' leaves the library '{library}'")
        if not (directory / "Dockerfile").is_file():
            have = sorted(p.name for p in images.iterdir() if (p / "Dockerfile").is_file()) if images.is_dir() else []
            raise LibraryMiss(f"library '{library}' has no image '{name}' (images: {', '.join(have) or 'none'})")
        return directory
    raise ValueError(f"unknown kind of library item: {kind}")


def _top_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.name.endswith(LIBRARY_SUFFIX) and p.is_file())
    except OSError:
        return []


def _top_keys(file: Path) -> dict[str, object]:
    """The top-level mapping of a Weft file, or {} for one that is not (never an error here)."""
    try:
        doc = parse_yaml(read_bounded(file, MAX_LIBRARY_BYTES), str(file), ProblemCollector())
    except Unreadable:
        return {}
    data = doc.data if doc is not None else None
    return data if isinstance(data, dict) and "weft" in data else {}


def operator_files(folder: Path) -> dict[Path, list[str]]:
    """The library's operator files and the operator names each defines."""
    out: dict[Path, list[str]] = {}
    for file in _top_files(folder):
        data = _top_keys(file)
        operators = data.get("operators")
        if "nodes" not in data and isinstance(operators, dict):
            out[file] = [str(name) for name in operators]
    return out


def workflow_files(folder: Path) -> list[Path]:
    return [file for file in _top_files(folder) if "nodes" in _top_keys(file)]


def _operator_file(library: str, name: str, folder: Path) -> Path:
    files = operator_files(folder)
    defining = [file for file, names in files.items() if name in names]
    if len(defining) > 1:
        both = " and ".join(file.name for file in defining)
        raise LibraryMiss(f"operator '{library}:{name}' is defined by more than one file of the library: {both}")
    if not defining:
        from engine.workflow.records import did_you_mean

        every = sorted({n for names in files.values() for n in names})
        raise LibraryMiss(f"library '{library}' has no operator '{name}'{did_you_mean(name, every)}")
    return defining[0]


# -- images ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageLayer:
    """One library image to build: its folder, and the library images its FROM lines name."""

    ref: str
    directory: Path
    parents: tuple[str, ...]


@dataclass(frozen=True)
class LibraryImage:
    """A library image and every library image it is built on, parents before children."""

    ref: str
    layers: tuple[ImageLayer, ...]
    #: the library folders by name, to translate ``FROM LIBRARY:NAME`` when building
    libraries: tuple[tuple[str, Path], ...]


_FROM = re.compile(r"^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE)


def from_refs(dockerfile: str, known: Mapping[str, Path]) -> list[str]:
    """The library images a Dockerfile's FROM lines name (``FROM weft:base``), in order.

    A FROM whose part before ``:`` is not a known library is an ordinary image (``python:3.12``)."""
    out: list[str] = []
    for line in dockerfile.splitlines():
        found = _FROM.match(line)
        if found is None:
            continue
        parsed = parse_ref(found.group(3))
        if parsed is not None and parsed[0] in known and found.group(3) not in out:
            out.append(found.group(3))
    return out


def translate_from(dockerfile: str, tags: Mapping[str, str]) -> str:
    """The Dockerfile with each ``FROM LIBRARY:NAME`` replaced by that image's built tag."""
    lines = []
    for line in dockerfile.splitlines():
        found = _FROM.match(line)
        if found is not None and found.group(3) in tags:
            line = found.group(1) + found.group(2) + tags[found.group(3)] + found.group(4)
        lines.append(line)
    return "\n".join(lines) + "\n"


def is_library_image(image: str, known: Mapping[str, Path]) -> bool:
    """Whether ``image`` names a library image: ``LIBRARY:NAME`` with a known library.

    ``python:3.12-slim`` is a Docker image unless a library is named ``python``; the library
    wins (write ``docker.io/library/python:3.12-slim`` to mean Docker's)."""
    parsed = parse_ref(image)
    return parsed is not None and parsed[0] in known


def image_plan(ref: str, known: Mapping[str, Path]) -> LibraryImage:
    """``ref`` and the library images it is built FROM, in build order (parents first).

    Raises ``LibraryMiss`` for a missing image (naming who wants it) or a cycle of FROMs
    (naming the chain)."""
    order: list[ImageLayer] = []
    done: set[str] = set()

    def visit(current: str, chain: list[str]) -> None:
        if current in done:
            return
        if current in chain:
            raise LibraryMiss("images built FROM each other: " + " -> ".join([*chain[chain.index(current) :], current]))
        try:
            directory = locate("image", current, known)
        except LibraryMiss as exc:
            raise LibraryMiss(f"{exc} (FROM in {chain[-1]})" if chain else str(exc)) from None
        try:
            text = read_bounded(directory / "Dockerfile", MAX_LIBRARY_BYTES)
        except Unreadable as exc:
            raise LibraryMiss(f"image '{current}': Dockerfile {exc}") from None
        parents = tuple(from_refs(text, known))
        for parent in parents:
            visit(parent, [*chain, current])
        done.add(current)
        order.append(ImageLayer(current, directory, parents))

    visit(ref, [])
    return LibraryImage(ref, tuple(order), tuple(sorted(known.items())))


def resolve(kind: str, ref: str, known: Mapping[str, Path]) -> Path:
    """The one door for any ``LIBRARY:NAME`` of ``kind`` (operator, workflow, image): its file
    or folder, or ``LibraryMiss`` with one line (the caller adds where it was written)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of library item: {kind}")
    return locate(kind, ref, known)
