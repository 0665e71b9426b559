"""Workflow text to a validated ``Workflow``: parse, build records, check, raise once.

Two stages, as in every good format reader: YAML becomes plain data with a source map
(``engine.yamlsrc``), then records (``engine.records``) become the model, and cross-record
checks (``engine.validate``) run last. All problems of a file come out together, each with
file:line:column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput, Location, Problem, ProblemCollector
from engine.model import OperatorSpec, ResolvedNode, Workflow
from engine.porttypes import TypeRegistry
from engine.records import RECORD_NAME, Reader
from engine.validate import validate_workflow
from engine.yamlsrc import Path as SourcePath, SourceMap, parse_yaml

FORMAT_VERSION = 1
TOP_KEYS = ("weft", "name", "description", "settings", "types", "imports", "operators", "nodes",
            "edges", "promises")
LIBRARY_KEYS = ("weft", "description", "types", "imports", "operators")


@dataclass
class Loaded:
    """A valid workflow with what loading learned about it."""

    workflow: Workflow
    registry: TypeRegistry
    nodes: dict[str, ResolvedNode]
    source: SourceMap


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a workflow file") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None


def load_file(path: str | Path) -> Loaded:
    """Load and validate a workflow file; raises ``WorkflowInvalid`` with every problem."""
    path = Path(path)
    return load_text(read_text(path), str(path), path=path.resolve())


def load_text(text: str, file: str = "<text>", path: Path | None = None) -> Loaded:
    workflow, loaded, problems = read_text_leniently(text, file, path)
    problems.raise_if_any()
    assert loaded is not None
    return loaded


def read_text_leniently(text: str, file: str = "<text>", path: Path | None = None
                        ) -> tuple[Workflow | None, Loaded | None, ProblemCollector]:
    """Everything that could be read of a workflow text, and every problem of it.

    ``load_text`` raises on the problems; an editor (the studio) shows them beside whatever
    part of the workflow was readable, so a person can fix the file where it is wrong. The
    ``Loaded`` is None unless there are no problems; the workflow is None only when the text
    is not YAML at all.
    """
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
    workflow.types = _types(reader, data.get("types"))
    workflow.imports = reader.text_list(data.get("imports"), ("imports",), "imports") or []
    workflow.operators = _operators(reader, data.get("operators"))
    library_types: dict[str, dict[str, str]] = {}
    if workflow.imports:
        base = path.parent if path else Path.cwd()
        seen = {path} if path else set()  # a library that imports this very file adds nothing
        workflow.library, library_types = _imports(workflow.imports, base, source, problems, seen)
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
    registry, type_problems = TypeRegistry.from_definitions({**library_types, **workflow.types})
    for record, fieldname, message in type_problems:
        where = ("types", record) + ((fieldname,) if fieldname else ())
        problems.add(source.at(where), message)
    nodes = validate_workflow(workflow, registry, source, problems, node_paths=node_paths, edge_paths=edge_paths)
    if problems:
        return workflow, None, problems
    return workflow, Loaded(workflow, registry, nodes, source), problems


def load_library(path: str | Path) -> tuple[dict[str, OperatorSpec], dict[str, dict[str, str]], list[Problem]]:
    """The operators and record types of one operator library file (and of what it imports),
    with script paths as seen from the library's own folder, and every problem found."""
    target = Path(path).resolve()
    problems = ProblemCollector()
    operators, types = _imports([target.name], target.parent, SourceMap(str(target)), problems, set())
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
    return {name: reader.operator(name, data, ("operators", name))
            for name, data in reader.mapping(value, ("operators",), "operators", None).items()}


def _imports(files: list[str], base: Path, source: SourceMap, problems: ProblemCollector,
             seen: set[Path]) -> tuple[dict[str, OperatorSpec], dict[str, dict[str, str]]]:
    """Operators and types of library files (which may import further libraries)."""
    operators: dict[str, OperatorSpec] = {}
    types: dict[str, dict[str, str]] = {}
    for i, name in enumerate(files):
        target = (base / name).resolve()
        if target in seen:
            continue
        seen.add(target)
        try:
            text = read_text(target)
        except InvalidInput as exc:
            problems.add(source.at(("imports", i)), f"import: {exc}")
            continue
        lib_problems = ProblemCollector()
        doc = parse_yaml(text, str(target), lib_problems)
        if doc is not None:
            reader = Reader(doc.source, lib_problems)
            data = reader.mapping(doc.data, (), "an operator library", LIBRARY_KEYS)
            _check_version(data, doc.source, lib_problems)
            sub_ops, sub_types = _imports(reader.text_list(data.get("imports"), ("imports",), "imports") or [],
                                          target.parent, doc.source, lib_problems, seen)
            operators.update(sub_ops)
            types.update(sub_types)
            types.update(_types(reader, data.get("types")))
            for op in _operators(reader, data.get("operators")).values():
                if op.command is not None and op.build is None and isinstance(op.command, list):
                    op = _rebase(op, target.parent, base)
                operators[op.name] = op
        problems.problems.extend(lib_problems.problems)
    return operators, types


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
