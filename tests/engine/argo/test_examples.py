"""Every shipped example either exports to an Argo Workflow that Argo's own schema accepts, or is
refused with one located reason; which one is written down here, so a change either way fails."""

from __future__ import annotations

import pytest
import yaml

from engine.argo.export import ExportRefused, export, to_yaml
from engine.workflow.loader import load_file
from tests.conftest import EXAMPLES
from tests.engine.argo.pods import schema_errors

DYNAMIC = "is dynamic: its task may change the graph while it runs"
#: example -> (line:column, what the reason says)
REFUSED = {
    "breaker-max-nodes": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-no-new-edges": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-no-new-nodes": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-only-edges": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-only-nodes": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-promise-already-false": ("19:3", f"node 'plan' {DYNAMIC}"),
    "breaker-shape-both-branches": ("20:3", f"node 'start' {DYNAMIC}"),
    "breaker-shape-incomplete": ("19:3", f"node 'A' {DYNAMIC}"),  # its M is no operator
    "breaker-static": ("19:3", f"node 'plan' {DYNAMIC}"),
    "fan-out": ("15:5", f"node 'plan' {DYNAMIC}"),
    "library-nesting": ("18:5", f"node 'left/squares/plan' {DYNAMIC}"),
    "random-branch": ("15:5", f"node 'start' {DYNAMIC}"),
    "refine-loop": ("32:5", "the loop score -> refine has no faithful Argo form"),
    "serial-loop": ("25:5", f"node 'halve-1' {DYNAMIC}"),
    "subgraph": ("14:5", f"node 'A' {DYNAMIC}"),
}
#: refusals found in a file the example includes (relative to the examples folder)
INCLUDED = {"library-nesting": "numbers/square-sum.weft.yaml"}
#: breaker-implicit exports: its `plan` is not dynamic; the launcher fails it when it mutates
#: random-map exports: its shape promise `A -> M* -> B` pins A's nodes down to a withParam fan-out
EXPORTED = ["breaker-implicit", "four-nodes", "nested", "pre-determined", "random-map", "word-count"]
ALL = sorted(p.name.removesuffix(".weft.yaml") for p in EXAMPLES.glob("*.weft.yaml"))


def test_every_example_is_listed_once() -> None:
    assert sorted([*REFUSED, *EXPORTED]) == ALL
    assert (len(EXPORTED), len(REFUSED)) == (6, 15)


@pytest.mark.parametrize("name", EXPORTED)
def test_an_example_exports_to_a_workflow_argo_accepts(name: str) -> None:
    loaded = load_file(EXAMPLES / f"{name}.weft.yaml")
    document = yaml.safe_load(to_yaml(export(loaded)))
    assert schema_errors(document) == []
    tasks = document["spec"]["templates"][0]["dag"]["tasks"]
    assert len(tasks) >= len(loaded.workflow.nodes)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_an_example_is_refused_at_its_place(name: str) -> None:
    path = EXAMPLES / f"{name}.weft.yaml"
    with pytest.raises(ExportRefused) as refused:
        export(load_file(path))
    where, reason = REFUSED[name]
    place = EXAMPLES / INCLUDED[name] if name in INCLUDED else path
    assert str(refused.value).startswith(f"{place}:{where}: error: {reason}")
    assert "\n" not in str(refused.value)
