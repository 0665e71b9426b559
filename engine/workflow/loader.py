"""Workflow text to a validated ``Workflow``: parse, build records, check, raise once.

Two stages, as in every good format reader: YAML becomes plain data with a source map
(``engine.workflow.yamlsrc``), then records (``engine.workflow.records``) become the model, and cross-record
checks (``engine.workflow.validate``) run last. All problems of a file come out together, each with
file:line:column.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import collector
from engine.errors import InvalidInput, Location, Problem, ProblemCollector
from engine.languages.porttypes import TypeRegistry
from engine.workflow.files import MIB, Unreadable, read_bounded
from engine.workflow.libraries import (
    LIBRARY_SUFFIX,
    MINE,
    SHIPPED,
    LibraryMiss,
    declared_problem,
    image_plan,
    is_library_image,
    parse_ref,
)
from engine.workflow.libraries import SHIPPED_LIBRARY as SHIPPED_LIBRARY  # re-exported: callers import it here
from engine.workflow.libraries import libraries as library_set
from engine.workflow.libraries import resolve as resolve_item
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
#: Larger files are refused before they are read: a workflow may be generated (100,000 nodes
#: fit), a library is written by hand. Neither is ever read whole from /dev/zero or a pipe.
MAX_WORKFLOW_BYTES = 16 * MIB
MAX_LIBRARY_BYTES = 4 * MIB


@dataclass
class Loaded:
    """A valid workflow with what loading learned about it."""

    workflow: Workflow
    registry: TypeRegistry
    nodes: dict[str, ResolvedNode]
    source: SourceMap
    #: the text of every workflow file it includes, at any depth, by real path: what a run
    #: records, so that resuming it loads what it started with (``load_text(texts=...)``)
    included_texts: dict[str, str] = dataclasses.field(default_factory=dict)


def read_text(path: Path, limit: int = MAX_WORKFLOW_BYTES) -> str:
    """A workflow file's text; one-line ``InvalidInput`` if it is not a readable text file."""
    try:
        return read_bounded(Path(path), limit)
    except Unreadable as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def library_folders() -> list[Path]:
    """Folders any workflow may import from besides its own (each resolved): the shipped
    library, the user's own (``$WEFT_HOME/operators``) and those of ``$WEFT_LIBRARY_PATH``.
    A workflow also sees its ``settings.libraries`` and the ``--library`` folders it was run with
    (``Workflow.library_folders``)."""
    return list(libraries().values())


def libraries() -> dict[str, Path]:
    """The library folders by the name an import gives them (``weft:basic``): ``weft`` is the
    library Weft ships, ``my`` the user's own, and each folder of ``$WEFT_LIBRARY_PATH`` is
    named by its folder name (the first of a name wins). See ``engine.workflow.libraries``."""
    return library_set()


def import_target(
    name: str, base: Path, roots: list[Path], known: dict[str, Path] | None = None
) -> tuple[Path, str | None]:
    """Where import ``name`` (written in a file in ``base``) leads, and why it may not be read.

    ``LIBRARY:FILE`` names a file of a library folder, so a workflow that uses the shipped
    library stays portable; anything else is a path relative to ``base``. Symlinks are
    followed first, so a link inside the folder that points out is refused too. ``known`` are
    the library folders by name (default: ``libraries()``).
    """
    ref = parse_ref(name)
    if ref is not None:
        known = known if known is not None else libraries()
        folder = known.get(ref[0])
        if folder is None:
            return base / name, f"no library named '{ref[0]}' (libraries: {', '.join(known)})"
        file = ref[1] if ref[1].endswith(LIBRARY_SUFFIX) else ref[1] + LIBRARY_SUFFIX
        target = real_path(folder / file)
        if not target.is_relative_to(folder):
            return target, f"leaves the library '{ref[0]}'"
        return target, None
    target = real_path(base / name)
    if any(target.is_relative_to(root) for root in roots):
        return target, None
    return target, (
        "outside the workflow's folder and the library folders (add its folder to $WEFT_LIBRARY_PATH to allow it)"
    )


def workflow_target(
    ref: str, base: Path, roots: list[Path], known: dict[str, Path] | None = None
) -> tuple[Path, str | None]:
    """Where ``workflow: REF`` (written in a file in ``base``) leads, and why it may not be read:
    ``LIBRARY:NAME`` is ``NAME.weft.yaml`` in that library folder (``known``: the folders the
    including workflow sees), anything else a path relative to ``base`` inside ``roots`` (the
    including file's folder and the library folders), exactly as an import."""
    return import_target(ref, base, roots, known)


#: Workflows read while loading one file, by real path and the library folders handed down to
#: it (a library workflow used a thousand times is read once): the loaded workflow, or None,
#: and its problems.
Included = dict[tuple[Path, tuple[str, ...]], tuple["Loaded | None", list[Problem]]]


def load_file(path: str | Path, libraries: Sequence[Path | str] = ()) -> Loaded:
    """Load and validate a workflow file; raises ``WorkflowInvalid`` with every problem.

    ``libraries`` are library folders given on the command line (``--library DIR``)."""
    path = Path(path)
    return load_text(read_text(path), str(path), path=path.resolve(), libraries=libraries)


def load_text(
    text: str,
    file: str = "<text>",
    path: Path | None = None,
    libraries: Sequence[Path | str] = (),
    texts: dict[str, str] | None = None,
) -> Loaded:
    """Load and validate a workflow text. ``texts`` are included workflow files' texts by real
    path, as a run recorded them (``Loaded.included_texts``): such a file is not read again."""
    workflow, loaded, problems = read_text_leniently(text, file, path, libraries, texts=texts)
    problems.raise_if_any()
    assert loaded is not None
    return loaded


def read_text_leniently(
    text: str,
    file: str = "<text>",
    path: Path | None = None,
    libraries: Sequence[Path | str] = (),
    chain: tuple[Path, ...] = (),
    included: Included | None = None,
    texts: dict[str, str] | None = None,
) -> tuple[Workflow | None, Loaded | None, ProblemCollector]:
    """Everything that could be read of a workflow text, and every problem of it.

    ``load_text`` raises on the problems; an editor (the studio) shows them beside whatever
    part of the workflow was readable, so a person can fix the file where it is wrong. The
    ``Loaded`` is None unless there are no problems; the workflow is None only when the text
    is not YAML at all.
    """
    with collector.paused():  # a large file is millions of new objects, none of them garbage
        found = {} if included is None else included
        return _read_leniently(text, file, path, libraries, chain, found, dict(texts or {}))


def _read_leniently(
    text: str,
    file: str,
    path: Path | None,
    extra: Sequence[Path | str],
    chain: tuple[Path, ...],
    included: Included,
    texts: dict[str, str],
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
    base = path.parent if path else Path.cwd()
    known = workflow.library_folders = _library_folders(workflow, base, extra, source, problems)
    library_types: dict[str, dict[str, str]] = {}
    if workflow.imports:
        seen = {path} if path else set()  # a library that imports this very file adds nothing
        roots = [real_path(base), *known.values()]
        workflow.library, library_types = _imports(workflow.imports, base, source, problems, seen, roots, known)
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
    library_operators(workflow, node_paths, base, source, problems, library_types)
    library_images(workflow, node_paths, source, problems)
    if any(node.workflow for node in workflow.nodes):
        here = chain + ((path,) if path else ())
        roots = [real_path(base), *known.values()]
        for node, where in zip(workflow.nodes, node_paths, strict=True):
            if node.workflow:
                at = source.at(where + ("workflow",))
                sub = _include(node.workflow, base, roots, known, here, included, texts, at, problems)
                if sub is not None:
                    workflow.included[node.id] = sub
    del data, doc  # everything read is in the records now: the parsed text goes before validating
    registry, type_problems = TypeRegistry.from_definitions({**library_types, **workflow.types})
    for record, fieldname, message in type_problems:
        where = ("types", record) + ((fieldname,) if fieldname else ())
        problems.add(source.at(where), message)
    nodes = validate_workflow(workflow, registry, source, problems, node_paths=node_paths, edge_paths=edge_paths)
    workflow.find_operator = _operator_finder(workflow, base)  # for nodes tasks create
    if problems:
        return workflow, None, problems
    return workflow, Loaded(workflow, registry, nodes, source, texts), problems


def _include(
    ref: str,
    base: Path,
    roots: list[Path],
    known: dict[str, Path],
    chain: tuple[Path, ...],
    included: Included,
    texts: dict[str, str],
    at: Location,
    problems: ProblemCollector,
) -> Loaded | None:
    """The workflow a ``workflow:`` node names, loaded (and its own included workflows), or None
    with its problems reported where they are (each names its own file, once however often the
    workflow is used).

    The included workflow sees every library the including one sees, under the same names
    (``handed_down``), and adds the folders of its own ``settings.libraries`` under names not
    taken yet: a name means one folder from the top workflow down."""
    target, outside = workflow_target(ref, base, roots, known)
    if outside is not None:
        problems.add(at, f"workflow: {ref}: {outside}")
        return None
    if target in chain:
        files = " -> ".join(str(p) for p in (*chain[chain.index(target) :], target))
        problems.add(at, f"workflow: {ref}: a workflow includes itself: {files}")
        return None
    inherited = handed_down(known)
    key = (target, tuple(inherited))
    if key not in included:
        text = texts.get(str(target))
        if text is None:  # not recorded by the run being resumed (or no run): read it now
            try:
                text = texts[str(target)] = read_bounded(target, MAX_WORKFLOW_BYTES)
            except Unreadable as exc:
                problems.add(at, f"workflow: {ref}: {exc}")
                return None
        _, loaded, found = _read_leniently(text, str(target), target, inherited, chain, included, texts)
        included[key] = (loaded, found.problems)
        problems.problems.extend(found.problems)
    return included[key][0]  # if None, its problems were reported with their own files


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
    files: list[str],
    base: Path,
    source: SourceMap,
    problems: ProblemCollector,
    seen: set[Path],
    roots: list[Path],
    known: dict[str, Path] | None = None,
) -> tuple[dict[str, OperatorSpec], dict[str, dict[str, str]]]:
    """Operators and types of library files (which may import further libraries).

    Only files inside ``roots`` are read. Until a file shows it is a Weft library (a mapping
    with ``weft:``), its problems are reported at the import, never quoting its text.
    """
    operators: dict[str, OperatorSpec] = {}
    types: dict[str, dict[str, str]] = {}
    for i, name in enumerate(files):
        where = source.at(("imports", i))
        target, outside = import_target(name, base, roots, known)
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
            known,
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
    command = list(op.command or [])
    for i, arg in enumerate(command):
        candidate = lib_dir / arg
        if i > 0 and not os.path.isabs(arg) and ("/" in arg) and candidate.exists():
            command[i] = os.path.relpath(candidate, base)
    return dataclasses.replace(op, command=command)


# -- library items: ``operator: LIBRARY:NAME``, ``image: LIBRARY:NAME`` ------------------------


def run_libraries(workflow: Workflow) -> list[str]:
    """The library folders a run of ``workflow`` saw besides ``weft`` and ``my``, in the order
    that names them the same way again: a resumed run loads its text with these."""
    return handed_down(workflow.library_folders)


def handed_down(known: dict[str, Path]) -> list[str]:
    """The library folders of ``known`` besides ``weft`` and ``my`` (which every workflow sees),
    in the order that names them the same way again (each folder is named by its folder name):
    what an included workflow is given before its own ``settings.libraries``, and what a run
    records for ``weft resume``."""
    return [str(folder) for name, folder in known.items() if name not in (SHIPPED, MINE)]


def _library_folders(
    workflow: Workflow, base: Path, extra: Sequence[Path | str], source: SourceMap, problems: ProblemCollector
) -> dict[str, Path]:
    """The library folders ``workflow`` sees by name; a ``settings.libraries`` entry that leaves
    the workflow's folder is a located problem (see ``engine.workflow.libraries``)."""
    declared: list[Path] = []
    for i, text in enumerate(workflow.settings.libraries or []):
        reason = declared_problem(text, base)
        if reason is not None:
            problems.add(source.at(("settings", "libraries", i)), f"library '{text}' {reason}")
        else:
            declared.append(base / text)
    return library_set(extra, declared)


def library_operator(
    ref: str, known: dict[str, Path], base: Path, problems: ProblemCollector
) -> tuple[OperatorSpec, dict[str, dict[str, str]]]:
    """The operator ``LIBRARY:NAME`` (named so, its scripts seen from ``base``) and the record
    types of its file. Raises ``LibraryMiss``; problems of the library file go to ``problems``."""
    file = resolve_item("operator", ref, known)
    library, name = ref.split(":", 1)
    found = ProblemCollector()
    operators, types = _imports(
        [str(file)], base, SourceMap(str(file)), found, set(), [known[library], *known.values()], known
    )
    problems.problems.extend(found.problems)
    if name not in operators or found.problems:
        raise LibraryMiss(f"operator '{ref}' is not valid (its problems are reported in {file.name})")
    return dataclasses.replace(operators[name], name=ref), types


def library_operators(
    workflow: Workflow,
    node_paths: list[SourcePath],
    base: Path,
    source: SourceMap,
    problems: ProblemCollector,
    types: dict[str, dict[str, str]],
) -> None:
    """Every ``operator: LIBRARY:NAME`` of the workflow's nodes, into ``workflow.library`` (and
    their files' record types into ``types``); a task's node may name one later (``find``)."""
    known = workflow.library_folders
    for node, where in zip(workflow.nodes, node_paths, strict=True):
        name = node.operator
        if name is None or name in workflow.library or parse_ref(name) is None:
            continue
        try:
            workflow.library[name], file_types = library_operator(name, known, base, problems)
        except LibraryMiss as exc:
            problems.add(source.at((*where, "operator")), f"operator '{name}': {exc}")
            workflow.library[name] = _MISSING  # reported once, not again by the validator
            continue
        types.update(file_types)
    for name in [n for n, op in workflow.library.items() if op is _MISSING]:
        del workflow.library[name]


def _operator_finder(workflow: Workflow, base: Path) -> Callable[[str], OperatorSpec]:
    """Finds a library operator a task's node names that the text did not (``LibraryMiss``)."""

    def find(name: str) -> OperatorSpec:
        if name not in workflow.library:
            workflow.library[name] = library_operator(name, workflow.library_folders, base, ProblemCollector())[0]
        return workflow.library[name]

    return find


_MISSING = OperatorSpec(name="")


def _loc_or_top(loc: Location | None, source: SourceMap) -> Location:
    return loc or source.at(())


def library_images(
    workflow: Workflow, node_paths: list[SourcePath], source: SourceMap, problems: ProblemCollector
) -> None:
    """Every ``image: LIBRARY:NAME`` (settings, operators, library operators, nodes), with the
    library images it is built FROM, into ``workflow.images``; a missing one or a cycle of
    FROMs is a located problem."""
    known = workflow.library_folders
    # where each image is written, as a function: a location is found only for a problem (finding
    # one walks the text, which for a thousand nodes cost as much as reading the file)
    places: list[tuple[str | None, Callable[[], Location]]] = [
        (workflow.settings.image, lambda: source.at(("settings", "image")))
    ]
    places += [
        (op.image, functools.partial(source.at, ("operators", name, "image")))
        for name, op in workflow.operators.items()
    ]
    places += [(op.image, functools.partial(_loc_or_top, op.loc, source)) for op in workflow.library.values()]
    places += [
        (node.image, functools.partial(source.at, (*where, "image")))
        for node, where in zip(workflow.nodes, node_paths, strict=True)
        if node.image is not None
    ]
    for image, where in places:
        if image is None or image in workflow.images or not is_library_image(image, known):
            continue
        try:
            workflow.images[image] = image_plan(image, known)
        except LibraryMiss as exc:
            problems.add(where(), f"image '{image}': {exc}")
