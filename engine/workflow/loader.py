"""Workflow text to a validated ``Workflow``: parse, build records, check, raise once.

Two stages, as in every good format reader: YAML becomes plain data with a source map
(``engine.workflow.yamlsrc``), then records (``engine.workflow.records``) become the model, and cross-record
checks (``engine.workflow.validate``) run last. All problems of a file come out together, each with
file:line:column.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import collector
from engine.errors import InvalidInput, Location, Problem, ProblemCollector
from engine.home import default_home
from engine.languages.porttypes import TypeRegistry
from engine.workflow.model import OperatorSpec, ResolvedNode, Workflow
from engine.workflow.records import PORT_NAME, RECORD_NAME, Reader
from engine.workflow.validate import real_path, validate_workflow
from engine.workflow.yamlsrc import Document, SourceMap, parse_yaml
from engine.workflow.yamlsrc import Path as SourcePath

FORMAT_VERSION = 1
TOP_KEYS = (
    "weft",
    "name",
    "description",
    "settings",
    "inputs",
    "outputs",
    "types",
    "imports",
    "operators",
    "nodes",
    "edges",
    "promises",
)
LIBRARY_KEYS = ("weft", "description", "types", "imports", "operators")
MIB = 1024 * 1024
#: Larger files are refused before they are read: a workflow may be generated (100,000 nodes
#: fit), a library is written by hand. Neither is ever read whole from /dev/zero or a pipe.
MAX_WORKFLOW_BYTES = 16 * MIB
MAX_LIBRARY_BYTES = 4 * MIB
#: The operator library that ships with Weft (the studio's palette offers it too).
SHIPPED_LIBRARY = Path(__file__).resolve().parents[2] / "resources" / "operators"


@dataclass
class Loaded:
    """A valid workflow with what loading learned about it."""

    workflow: Workflow
    registry: TypeRegistry
    nodes: dict[str, ResolvedNode]
    source: SourceMap


class Unreadable(Exception):
    """Why a file cannot be read as a Weft text; the reason never quotes the file's content."""


def read_text(path: Path, limit: int = MAX_WORKFLOW_BYTES) -> str:
    """A workflow file's text; one-line ``InvalidInput`` if it is not a readable text file."""
    try:
        return read_bounded(Path(path), limit)
    except Unreadable as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def read_bounded(path: Path, limit: int) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, or ``Unreadable``.

    Opened without blocking and checked on the open descriptor, so a named pipe (which would
    wait for a writer forever) or a device such as /dev/zero (which never ends) is refused
    before a single byte is read, and a file swapped after a check is still the one checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Unreadable("no such file") from None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Unreadable("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"is not a regular file (it is {_file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise Unreadable(_too_large(info.st_size, limit))
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)  # a file that grew since fstat is still bounded
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Unreadable(_too_large(len(data), limit))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None


def _too_large(size: int, limit: int) -> str:
    return f"is too large ({size:,} bytes; a Weft file may be at most {limit // MIB} MiB)"


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def library_folders() -> list[Path]:
    """Folders any workflow may import from besides its own (each resolved).

    Imports are confined so that a workflow handed to someone cannot make ``weft validate``
    read (and echo) files elsewhere on their machine. Allowed: the library Weft ships, the
    user's own library (``$WEFT_HOME/operators``, the studio's "My library") and every folder
    of ``$WEFT_LIBRARY_PATH`` (SPEC §10). This is the one place a future ``--library DIR`` or
    ``settings.libraries`` adds folders.
    """
    return list(libraries().values())


def libraries() -> dict[str, Path]:
    """The library folders by the name an import gives them (``weft:basic``): ``weft`` is the
    library Weft ships, ``my`` the user's own, and each folder of ``$WEFT_LIBRARY_PATH`` is
    named by its folder name (the first of a name wins)."""
    named = {"weft": SHIPPED_LIBRARY, "my": default_home() / "operators"}
    for entry in os.environ.get("WEFT_LIBRARY_PATH", "").split(os.pathsep):
        if entry:
            folder = Path(entry).expanduser()
            named.setdefault(folder.name, folder)
    return {name: real_path(folder) for name, folder in named.items()}


LIBRARY_SUFFIX = ".weft.yaml"
#: An import that names a library file by library: ``weft:basic`` (no folder, no suffix needed)
_LIBRARY_REF = re.compile(r"([A-Za-z_][\w-]*):([A-Za-z0-9_][\w.-]*)")


def import_target(name: str, base: Path, roots: list[Path]) -> tuple[Path, str | None]:
    """Where import ``name`` (written in a file in ``base``) leads, and why it may not be read.

    ``LIBRARY:FILE`` names a file of a library folder, so a workflow that uses the shipped
    library stays portable; anything else is a path relative to ``base``. Symlinks are
    followed first, so a link inside the folder that points out is refused too.
    """
    ref = _LIBRARY_REF.fullmatch(name)
    if ref is not None:
        known = libraries()
        folder = known.get(ref.group(1))
        if folder is None:
            return base / name, f"no library named '{ref.group(1)}' (libraries: {', '.join(known)})"
        file = ref.group(2) if ref.group(2).endswith(LIBRARY_SUFFIX) else ref.group(2) + LIBRARY_SUFFIX
        target = real_path(folder / file)
        if not target.is_relative_to(folder):
            return target, f"leaves the library '{ref.group(1)}'"
        return target, None
    target = real_path(base / name)
    if any(target.is_relative_to(root) for root in roots):
        return target, None
    return target, (
        "outside the workflow's folder and the library folders (add its folder to $WEFT_LIBRARY_PATH to allow it)"
    )


def workflow_target(ref: str, base: Path, roots: list[Path]) -> tuple[Path, str | None]:
    """Where ``workflow: REF`` (written in a file in ``base``) leads, and why it may not be read:
    ``LIBRARY:NAME`` is ``NAME.weft.yaml`` in that library folder, anything else a path relative
    to ``base`` inside ``roots`` (the including file's folder and the library folders), exactly
    as an import."""
    return import_target(ref, base, roots)


#: Workflows read while loading one file, by real path (a library workflow used a thousand
#: times is read once): the loaded workflow, or None, and its problems.
Included = dict[Path, tuple["Loaded | None", list[Problem]]]


def load_file(path: str | Path) -> Loaded:
    """Load and validate a workflow file; raises ``WorkflowInvalid`` with every problem."""
    path = Path(path)
    return load_text(read_text(path), str(path), path=path.resolve())


def load_text(text: str, file: str = "<text>", path: Path | None = None) -> Loaded:
    workflow, loaded, problems = read_text_leniently(text, file, path)
    problems.raise_if_any()
    assert loaded is not None
    return loaded


def read_text_leniently(
    text: str,
    file: str = "<text>",
    path: Path | None = None,
    chain: tuple[Path, ...] = (),
    included: Included | None = None,
) -> tuple[Workflow | None, Loaded | None, ProblemCollector]:
    """Everything that could be read of a workflow text, and every problem of it.

    ``load_text`` raises on the problems; an editor (the studio) shows them beside whatever
    part of the workflow was readable, so a person can fix the file where it is wrong. The
    ``Loaded`` is None unless there are no problems; the workflow is None only when the text
    is not YAML at all.
    """
    with collector.paused():  # a large file is millions of new objects, none of them garbage
        return _read_leniently(text, file, path, chain, {} if included is None else included)


def _read_leniently(
    text: str, file: str, path: Path | None, chain: tuple[Path, ...], included: Included
) -> tuple[Workflow | None, Loaded | None, ProblemCollector]:
    problems = ProblemCollector()
    doc = parse_yaml(text, file, problems)
    if doc is None or problems:
        return None, None, problems
    source = doc.source
    reader = Reader(source, problems)
    data = reader.mapping(doc.data, (), "a workflow", TOP_KEYS)
    if doc.data is None:
        problems.add(Location(file, 1, 1), "empty file: a workflow starts with 'weft: 1'")
    elif isinstance(doc.data, dict):
        _check_version(data, source, problems)
    name = reader.text(data.get("name"), ("name",), "name")
    if name is None and "name" not in data:
        name = Path(file).name.split(".")[0] if path else "workflow"
    workflow = Workflow(name=name or "workflow", path=path)
    workflow.description = reader.text(data.get("description"), ("description",), "description")
    workflow.settings = reader.settings(data.get("settings"), ("settings",))
    workflow.inputs = reader.text_map(data.get("inputs"), ("inputs",), "inputs", PORT_NAME)
    workflow.outputs = reader.text_map(data.get("outputs"), ("outputs",), "outputs", PORT_NAME)
    workflow.types = _types(reader, data.get("types"))
    workflow.imports = reader.text_list(data.get("imports"), ("imports",), "imports") or []
    workflow.operators = _operators(reader, data.get("operators"))
    library_types: dict[str, dict[str, str]] = {}
    if workflow.imports:
        base = path.parent if path else Path.cwd()
        seen = {path} if path else set()  # a library that imports this very file adds nothing
        roots = [real_path(base), *library_folders()]
        workflow.library, library_types = _imports(workflow.imports, base, source, problems, seen, roots)
    # Where each kept node and edge stands in the text (a dropped bad one must not shift the rest).
    node_paths: list[SourcePath] = []
    edge_paths: list[SourcePath] = []
    for i, raw in enumerate(_list(reader, data.get("nodes"), "nodes")):
        node = reader.node(raw, ("nodes", i))
        if node is not None:
            workflow.nodes.append(node)
            node_paths.append(("nodes", i))
    for i, raw in enumerate(_list(reader, data.get("edges"), "edges")):
        edge = reader.edge(raw, ("edges", i))
        if edge is not None:
            workflow.edges.append(edge)
            edge_paths.append(("edges", i))
    for i, raw in enumerate(_list(reader, data.get("promises"), "promises")):
        promise = reader.promise(raw, ("promises", i))
        if promise is not None:
            workflow.promises.append(promise)
    if any(node.workflow for node in workflow.nodes):
        here = chain + ((path,) if path else ())
        base = path.parent if path else Path.cwd()
        roots = [real_path(base), *library_folders()]
        for node, where in zip(workflow.nodes, node_paths, strict=True):
            if node.workflow:
                sub = _include(node.workflow, base, roots, here, included, source.at(where + ("workflow",)), problems)
                if sub is not None:
                    workflow.included[node.id] = sub
    del data, doc  # everything read is in the records now: the parsed text goes before validating
    registry, type_problems = TypeRegistry.from_definitions({**library_types, **workflow.types})
    for record, fieldname, message in type_problems:
        where = ("types", record) + ((fieldname,) if fieldname else ())
        problems.add(source.at(where), message)
    nodes = validate_workflow(workflow, registry, source, problems, node_paths=node_paths, edge_paths=edge_paths)
    if problems:
        return workflow, None, problems
    return workflow, Loaded(workflow, registry, nodes, source), problems


def _include(
    ref: str,
    base: Path,
    roots: list[Path],
    chain: tuple[Path, ...],
    included: Included,
    at: Location,
    problems: ProblemCollector,
) -> Loaded | None:
    """The workflow a ``workflow:`` node names, loaded (and its own included workflows), or None
    with its problems reported where they are (each names its own file, once however often the
    workflow is used)."""
    target, outside = workflow_target(ref, base, roots)
    if outside is not None:
        problems.add(at, f"workflow: {ref}: {outside}")
        return None
    if target in chain:
        files = " -> ".join(str(p) for p in (*chain[chain.index(target) :], target))
        problems.add(at, f"workflow: {ref}: a workflow includes itself: {files}")
        return None
    if target not in included:
        try:
            text = read_bounded(target, MAX_WORKFLOW_BYTES)
        except Unreadable as exc:
            problems.add(at, f"workflow: {ref}: {exc}")
            return None
        _, loaded, found = _read_leniently(text, str(target), target, chain, included)
        included[target] = (loaded, found.problems)
        problems.problems.extend(found.problems)
    return included[target][0]  # if None, its problems were reported with their own files


def load_library(path: str | Path) -> tuple[dict[str, OperatorSpec], dict[str, dict[str, str]], list[Problem]]:
    """The operators and record types of one operator library file (and of what it imports),
    with script paths as seen from the library's own folder, and every problem found."""
    target = real_path(path)
    problems = ProblemCollector()
    operators, types = _imports(
        [target.name], target.parent, SourceMap(str(target)), problems, set(), [target.parent, *library_folders()]
    )
    return operators, types, problems.problems


def _check_version(data: dict[str, Any], source: SourceMap, problems: ProblemCollector) -> None:
    version = data.get("weft")
    if "weft" not in data:
        problems.add(source.at(()), "missing 'weft: 1' (the format version)")
    elif version != FORMAT_VERSION or isinstance(version, bool):
        problems.add(source.at(("weft",)), f"unsupported format version {version!r} (this Weft reads weft: 1)")


def _list(reader: Reader, value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        reader.error((what,), f"{what} must be a list")
        return []
    return value


def _types(reader: Reader, value: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, fields in reader.mapping(value, ("types",), "types", None).items():
        if not RECORD_NAME.match(name):
            reader.problems.add(reader.source.key(("types", name)), f"'{name}' is not a valid type name")
            continue
        parsed = reader.text_map(fields, ("types", name), f"type '{name}'", RECORD_NAME)
        if parsed is not None:
            out[name] = parsed
    return out


def _operators(reader: Reader, value: Any) -> dict[str, OperatorSpec]:
    return {
        name: reader.operator(name, data, ("operators", name))
        for name, data in reader.mapping(value, ("operators",), "operators", None).items()
    }


def _imports(
    files: list[str], base: Path, source: SourceMap, problems: ProblemCollector, seen: set[Path], roots: list[Path]
) -> tuple[dict[str, OperatorSpec], dict[str, dict[str, str]]]:
    """Operators and types of library files (which may import further libraries).

    Only files inside ``roots`` are read. Until a file shows it is a Weft library (a mapping
    with ``weft:``), its problems are reported at the import, never quoting its text.
    """
    operators: dict[str, OperatorSpec] = {}
    types: dict[str, dict[str, str]] = {}
    for i, name in enumerate(files):
        where = source.at(("imports", i))
        target, outside = import_target(name, base, roots)
        if outside is not None:
            problems.add(where, f"import: {name}: {outside}")
            continue
        if target in seen:
            continue
        seen.add(target)
        try:
            text = read_bounded(target, MAX_LIBRARY_BYTES)
        except Unreadable as exc:
            problems.add(where, f"import: {name}: {exc}")
            continue
        lib_problems = ProblemCollector()
        doc = parse_yaml(text, str(target), lib_problems)
        reason = _not_a_library(doc, lib_problems)
        if reason is not None:
            problems.add(where, f"import: {name}: {reason}")
            continue
        assert doc is not None
        reader = Reader(doc.source, lib_problems)
        data = reader.mapping(doc.data, (), "an operator library", LIBRARY_KEYS)
        _check_version(data, doc.source, lib_problems)
        sub_ops, sub_types = _imports(
            reader.text_list(data.get("imports"), ("imports",), "imports") or [],
            target.parent,
            doc.source,
            lib_problems,
            seen,
            roots,
        )
        operators.update(sub_ops)
        types.update(sub_types)
        types.update(_types(reader, data.get("types")))
        for op in _operators(reader, data.get("operators")).values():
            if op.command is not None and op.build is None and isinstance(op.command, list):
                op = _rebase(op, target.parent, base)
            operators[op.name] = op
        problems.problems.extend(lib_problems.problems)
    return operators, types


def _not_a_library(doc: Document | None, found: ProblemCollector) -> str | None:
    """Why a parsed file is not a Weft library, in words that quote none of its text.

    A file that is no YAML mapping with a ``weft`` key may be anything (a password file, a
    key); PyYAML's messages and ours quote what they trip over, so none of them is passed on.
    """
    if doc is None:
        first = found.problems[0].location if found.problems else None
        at = f" at line {first.line}, column {first.column}" if first and first.line else ""
        return f"not a valid Weft library file (YAML syntax error{at}; the text is not shown)"
    if not isinstance(doc.data, dict) or "weft" not in doc.data:
        return "not a Weft library file (it has no 'weft: 1' at its top level)"
    return None


def _rebase(op: OperatorSpec, lib_dir: Path, base: Path) -> OperatorSpec:
    """Library scripts are written relative to the library; tasks run in the workflow's folder."""
    import dataclasses
    import os

    command = list(op.command or [])
    for i, arg in enumerate(command):
        candidate = lib_dir / arg
        if i > 0 and not os.path.isabs(arg) and ("/" in arg) and candidate.exists():
            command[i] = os.path.relpath(candidate, base)
    return dataclasses.replace(op, command=command)
