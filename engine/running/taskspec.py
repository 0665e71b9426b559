"""What one attempt of a node is given: its input values, argv, environment, working folder
and start line, as the ``TaskSpec`` an executor launches. Pure: no I/O, nothing started."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from engine.executors.base import HELPER_DIR, TaskSpec
from engine.languages.porttypes import Optional as OptionalType
from engine.promises.graph import RunGraph
from engine.running.protocol import start_message
from engine.workflow.argv import argv_of
from engine.workflow.model import ResolvedNode, Workflow


def inputs_for(
    graph: RunGraph, node: str, resolved: ResolvedNode, outputs: Mapping[str, Mapping[str, Any]], task_ws: str
) -> tuple[dict[str, Any], str | None]:
    """The node's input values from its succeeded data edges (file values as paths the task
    sees), or why it has none for a required input."""
    registry = graph.registry
    values: dict[str, Any] = {}
    for index in graph.incoming[node]:
        edge = graph.edges[index]
        if edge.target_port is None or edge.source_port is None:
            continue
        produced = outputs.get(edge.source, {})
        if edge.source_port in produced:
            values[edge.target_port] = produced[edge.source_port]
    inputs: dict[str, Any] = {}
    for port, text in resolved.inputs.items():
        port_type = registry.parse(text)
        if port not in values:
            if isinstance(port_type, OptionalType):
                inputs[port] = None
                continue
            return {}, f"input '{port}' has no value (no succeeded data edge delivered one)"
        inputs[port] = registry.map_files(values[port], port_type, lambda rel: str(PurePosixPath(task_ws) / rel))
    return inputs, None


def env_of(base: Mapping[str, str], resolved: ResolvedNode, run_id: str, node: str, task_ws: str) -> dict[str, str]:
    env = dict(base)
    env.update(resolved.env)
    env["WEFT_WORKSPACE"] = task_ws
    env["WEFT_RUN"] = run_id
    env["WEFT_NODE"] = node
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HELPER_DIR), env.get("PYTHONPATH")]))
    return env


def task_spec(
    *,
    run_id: str,
    node: str,
    attempt: int,
    resolved: ResolvedNode,
    inputs: dict[str, Any],
    task_ws: str,
    workflow: Workflow,
    workspace: Path,
    home: Path,
    base_env: Mapping[str, str],
) -> TaskSpec:
    cwd = workflow.folder / resolved.workdir if resolved.workdir else workflow.folder
    line = start_message(run_id, node, inputs, resolved.params, task_ws, attempt)
    image = resolved.image or workflow.settings.image
    return TaskSpec(
        run_id,
        resolved,
        argv_of(resolved),
        cwd,
        env_of(base_env, resolved, run_id, node, task_ws),
        workspace,
        line,
        image=image,
        library_image=workflow.images.get(image) if image else None,
        libraries=workflow.library_folders,
        labels={"weft.run": run_id, "weft.node": node, "weft.attempt": str(attempt)},
        folder=workflow.folder,
        home=home,
    )
