"""Promises the workflow as drawn already breaks, or can never keep: errors at validation.

A shape promise is about the region between its anchors. Before anything runs, the region is
checked as the run would check a change of structure: when no node is dynamic the drawn graph
is all there will be (no node is dynamic, no loop unrolls), so it must have the form (up to
nodes a `when` may skip); otherwise some
continuation must still be able to give it the form. Each problem points at the promise.
"""

from __future__ import annotations

from engine.errors import Problem, WorkflowInvalid
from engine.promises.graph import RunGraph
from engine.promises.keeper import describe
from engine.promises.regions import Region
from engine.workflow.loader import Loaded


def registration_problems(loaded: Loaded) -> list[Problem]:
    workflow = loaded.workflow
    shapes = [(i, p) for i, p in enumerate(workflow.promises) if p.kind == "shape"]
    if not shapes:
        return []
    graph = RunGraph(workflow, loaded.registry)
    graph.registration(workflow, loaded.nodes)
    # the drawn graph is all there will be when no task may change it and no loop unrolls
    final = not any(r.dynamic for r in loaded.nodes.values()) and not workflow.loops
    problems = []
    for i, spec in shapes:
        finding = Region(spec, graph).check_registered(final)
        if finding is not None:
            where = loaded.source.at(("promises", i, "shape"))
            problems.append(Problem(where, f"promise `{describe(spec)}` cannot be kept: {finding.reason}"))
    return problems


def checked(loaded: Loaded) -> Loaded:
    """``loaded``, or ``WorkflowInvalid`` with every promise it can never keep."""
    problems = registration_problems(loaded)
    if problems:
        raise WorkflowInvalid(sorted(problems, key=lambda p: p.location))
    return loaded
