"""Workflows used as nodes (``workflow: PATH | LIBRARY:NAME``), as the editor sees them.

A ``workflow:`` node's ports are the included workflow's ``inputs:`` and ``outputs:``. The
studio reads them through the engine's own loader (``workflow_target`` and
``read_text_leniently``), so the canvas offers and refuses exactly the wires a run would. A
file is read again only when it changed on disk (a workflow with a hundred copies of one
sub-workflow reads it once), and a sub-workflow with problems still gives the ports it
declares, with its first problem said on the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Problem
from engine.workflow.libraries import libraries
from engine.workflow.loader import (
    LIBRARY_SUFFIX,
    MAX_WORKFLOW_BYTES,
    handed_down,
    read_bounded,
    read_text_leniently,
    workflow_target,
)
from engine.workflow.model import ports_of
from engine.workflow.validate import real_path


@dataclass(frozen=True)
class SubWorkflow:
    """What a ``workflow:`` node refers to: its file and the ports it gives the node."""

    ref: str
    path: Path
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    #: why it cannot be used as it is (unreadable, outside the allowed folders, invalid), or None
    problem: str | None = None
    #: its inner node ids (what a run prefixes with the node's id)
    members: tuple[str, ...] = ()


_cache: dict[tuple[Path, tuple[str, ...]], tuple[float, SubWorkflow]] = {}


def resolve(ref: str, including: Path | None, known: dict[str, Path] | None = None) -> SubWorkflow:
    """The sub-workflow ``ref`` names, written in the file ``including`` (None: unsaved, so
    relative to the current folder, as a run of it would be); ``known`` are the library folders
    the including workflow sees (``engine.workflow.libraries.seen_from``; default: only those every
    workflow sees). As in a run, the sub-workflow sees them too."""
    base = including.parent if including else Path.cwd()
    known = known if known is not None else libraries()
    target, outside = workflow_target(ref, base, [real_path(base), *known.values()], known)
    if outside is not None:
        return SubWorkflow(ref, target, problem=f"workflow: {ref}: {outside}")
    try:
        stamp = target.stat().st_mtime
    except OSError:
        return SubWorkflow(ref, target, problem=f"workflow: {ref}: no such file {target}")
    inherited = handed_down(known)
    key = (target, tuple(inherited))
    hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return SubWorkflow(ref, hit[1].path, hit[1].inputs, hit[1].outputs, hit[1].problem, hit[1].members)
    sub = _read(ref, target, inherited)
    _cache[key] = (stamp, sub)
    return sub


def forget(path: Path) -> None:
    """Read ``path`` again next time (it was just written: its time stamp may not have moved)."""
    real = Path(path).resolve()
    for key in [key for key in _cache if key[0] == real]:
        del _cache[key]


def _read(ref: str, target: Path, inherited: list[str]) -> SubWorkflow:
    try:
        text = read_bounded(target, MAX_WORKFLOW_BYTES)
    except Exception as exc:  # Unreadable, or an OS error: said on the node
        return SubWorkflow(ref, target, problem=f"workflow: {ref}: {exc}")
    workflow, loaded, found = read_text_leniently(text, str(target), target, inherited, chain=(target,))
    if workflow is None:
        return SubWorkflow(ref, target, problem=_first(found.problems))
    members = tuple(n.id for n in workflow.nodes)
    if loaded is not None:
        inputs, outputs = ports_of(workflow, loaded.nodes)
        return SubWorkflow(ref, target, inputs, outputs, None, members)
    # invalid: the declared inputs, and outputs typed where the node port can be told
    outputs = {name: "json" for name in workflow.outputs or {}}
    return SubWorkflow(ref, target, dict(workflow.inputs or {}), outputs, _first(found.problems), members)


def _first(problems: list[Problem]) -> str | None:
    return str(problems[0]) if problems else None


def is_workflow_file(path: Path) -> bool:
    return path.name.endswith(LIBRARY_SUFFIX)
