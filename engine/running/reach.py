"""Mutation rule 6: a node created by a task never reaches further than that task.

A task in a container is confined: no host files but its mounts, no network unless its node
says so, bounded memory, processes and CPUs. If it could create a node that runs on the host,
or with the network, or with larger limits, it would escape its confinement in one message.
So every node a confined task creates is checked (in the same atomic check as rules 1-3, and a
refusal fails the task), field by field:

- ``executor``: must be a confining one: ``docker``, or ``ray`` for a node that runs in a
  container there (it names an image). Left unset, it is the creator's, not the run's default,
  which may be ``local``; a created ray node naming no image gets its creator's.
- ``network: true`` only if the creator has the network.
- ``resources`` (``cpus``, ``memory``, ``pids``): at most the creator's effective limits. Left
  unset, a limit is the creator's.
- ``build:`` written on the created node is refused: building runs on the host's Docker engine,
  with the network, from a folder the task names. Operators the workflow itself declares (with
  their ``build:``) stay usable: their author wrote them.
- ``image``, ``env``, ``shell``, ``warm``, ``command``: allowed; they act inside a container,
  which the rules above keep confined. ``workdir`` stays inside the workflow folder for every
  node (``engine.workflow.validate``).

A local task already runs as the person who started Weft, with everything that person can
reach, so the nodes it creates are not narrowed further (a local task is not a sandbox).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.workflow.model import NodeSpec, ResolvedNode

#: Executors whose tasks run confined (in a container): every docker task; a ray task whose node
#: names an image (``confined``).
CONFINING = ("docker", "ray")


def confined(node: ResolvedNode, executor: str) -> bool:
    """Does a task of ``node`` on ``executor`` run in a container?"""
    return executor == "docker" or (executor == "ray" and bool(node.image or node.build))


def confine(
    creator: ResolvedNode, creator_executor: str, spec: NodeSpec, node: ResolvedNode
) -> tuple[ResolvedNode, list[str]]:
    """``node`` (resolved from ``spec``, created by ``creator``) with what it inherits from a
    confined creator, and the reasons it may not be created (empty: it may)."""
    if not confined(creator, creator_executor):
        return node, []
    problems: list[str] = []
    where = f"node '{node.id}'"
    why = f"but its creator '{creator.id}' runs in a container (a created node never reaches further than its creator)"
    changes: dict[str, Any] = {}
    executor = node.executor or creator_executor
    if node.executor is None:
        changes["executor"] = creator_executor
    if executor == "ray" and not (node.image or node.build):
        if creator.image:
            changes["image"] = creator.image
        else:
            problems.append(f"{where} would run on executor 'ray' with no image, outside any container, {why}")
    elif executor not in CONFINING:
        problems.append(f"{where} would run with executor '{node.executor}', outside any container, {why}")
    if node.network and not creator.network:
        problems.append(f"{where} asks for the network (network: true), {why} without one")
    if spec.build is not None:
        problems.append(f"{where} would build an image (build: {spec.build}) on the host's Docker engine, {why}")
    resources, resource_problems = _within_limits(creator, node)
    problems += [f"{where} asks for {text}, {why} with {limit}" for text, limit in resource_problems]
    if resources != node.resources:
        changes["resources"] = resources
    return (dataclasses.replace(node, **changes) if changes else node), problems


def _within_limits(creator: ResolvedNode, node: ResolvedNode) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from engine.executors.docker import effective_limits  # only for a creator in a container

    own = effective_limits(creator.resources)
    wanted = effective_limits(node.resources)
    resources = dict(node.resources)
    problems: list[tuple[str, str]] = []
    for key in ("cpus", "memory", "pids"):
        if key not in node.resources:
            if key in creator.resources:
                resources[key] = creator.resources[key]
            continue
        if own[key] is not None and (wanted[key] is None or wanted[key] > own[key]):
            problems.append((f"{key} {node.resources[key]}", f"{key} {creator.resources.get(key, own[key])}"))
    return resources, problems
