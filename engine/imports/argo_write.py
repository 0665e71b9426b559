"""An imported Argo workflow's nodes and edges, written as a Weft document (a plain dict)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.imports.argo_model import HELPER, NOOP, Leaf

if TYPE_CHECKING:
    from engine.imports.argo import ArgoImport


def document(imp: ArgoImport) -> dict[str, Any]:
    doc: dict[str, Any] = {"weft": 1, "name": imp.workflow_name}
    if imp.description:
        doc["description"] = imp.description
    doc["settings"] = imp.settings
    if imp.inputs:
        doc["inputs"] = dict(imp.inputs)
    nodes = [node_of(imp, leaf) for leaf in imp.leaves.values()]
    edges = list(imp.edges)
    for leaf in imp.leaves.values():
        for ref, port in leaf.ports.items():
            edges.append({"from": f"{ref.node}.{ref.port}", "to": f"{leaf.id}.{port}"})
    if "arguments" in imp.leaves:
        for port in imp.inputs:
            edges.append({"from": f"inputs.{port}", "to": f"arguments.{port}"})
    doc["nodes"] = nodes
    if edges:
        doc["edges"] = edges
    return doc


def node_of(imp: ArgoImport, leaf: Leaf) -> dict[str, Any]:
    node: dict[str, Any] = {"id": leaf.id}
    argo: dict[str, Any] = {}
    if leaf.kind == "join":
        node.update(command=list(NOOP), executor="local")
    elif leaf.kind == "arguments":
        node.update(command=[*HELPER, "--arguments"], executor="local")
        node["inputs"] = dict(imp.inputs)
        node["outputs"] = {port: "json" for port in imp.inputs}
        argo["defaults"] = leaf.extra["defaults"]
        for port in imp.inputs:
            argo["defaults"].setdefault(port, None)
    elif leaf.kind == "approve":
        node.update(operator="weft:approve", executor="local", params={"prompt": leaf.extra["prompt"]})
    elif leaf.kind == "ask":
        node.update(command=[*HELPER, "--ask"], executor="local")
        node["outputs"] = {port: "str" for port in leaf.extra["fields"]}
        argo.update(prompt=leaf.extra["prompt"], fields=leaf.extra["fields"])
    elif leaf.kind == "sleep":
        node.update(command=[*HELPER, "--sleep", str(leaf.extra["seconds"])], executor="local")
    elif leaf.kind == "fanout":
        node.update(command=[*HELPER, "--fan-out"], executor="local", dynamic=True)
        node["inputs"] = {leaf.extra["port"]: "json"}
        argo.update(item=leaf.extra["item"], join=leaf.extra["join"], fill=leaf.extra["fill"])
    else:
        if leaf.image:
            node["image"] = leaf.image
        helper = bool(
            leaf.ports or leaf.outputs or leaf.artifacts_out or leaf.artifacts_in or leaf.raw_in or leaf.result
        )
        node["command"] = [*HELPER, "--", *leaf.argv] if helper else list(leaf.argv)
        if leaf.env:
            node["env"] = dict(leaf.env)
        if leaf.ports:
            node["inputs"] = {port: ("file" if port in leaf.file_ports else "json") for port in leaf.ports.values()}
        outputs = {port: "json" for port in leaf.outputs}
        outputs.update({port: "file" for port in leaf.artifacts_out})
        if leaf.result:
            outputs["result"] = "json"
            argo["result"] = True
        if outputs:
            node["outputs"] = outputs
        if leaf.outputs:
            argo["outputs"] = leaf.outputs
        if leaf.fill and helper:
            argo["fill"] = leaf.fill
        if leaf.artifacts_out:
            argo["artifacts_out"] = leaf.artifacts_out
        if leaf.artifacts_in:
            argo["artifacts_in"] = leaf.artifacts_in
        if leaf.raw_in:
            argo["raw_in"] = leaf.raw_in
    if argo:
        node.setdefault("params", {})["argo"] = argo
    for key in ("retries", "retry_delay", "timeout", "trigger"):
        if getattr(leaf, key) is not None:
            node[key] = getattr(leaf, key)
    return node
