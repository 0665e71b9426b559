"""Mutation rule 6 (SPEC §4): a node created by a task never reaches further than that task.

A dynamic task in a container that creates a node running on the host (or with the network,
or with larger limits) would escape its container in one message. These run the real `weft`
command line against a real Docker engine: the creator runs in a container, sends one
`mutate`, and the created node must be refused (the creator fails, with the reason) or, where
it said nothing, inherit the creator's confinement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import containers_of
from tests.engine.test_docker import workflow

CREATE = """
    import json, os, sys, weft_task as w
    w.mutate(nodes=[json.loads(os.environ["CHILD"])])
    w.output("created", True)
"""

#: The created node's task: where it runs and what it can see, as outputs.
REPORT = """
    import os, weft_task as w
    w.output("report", {
        "in_container": os.path.exists("/.dockerenv"),
        "secret": os.environ.get("WEFT_TEST_SECRET"),
        "docker_socket": os.path.exists("/var/run/docker.sock"),
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "workspace": os.environ["WEFT_WORKSPACE"],
    })
"""


def _run(
    weft, tmp_path: Path, child: dict[str, Any], creator: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    node = {"id": "child", "command": ["python3", "report.py"], "outputs": {"report": "json"}, **child}
    plan = {
        "id": "plan",
        "command": ["python3", "create.py"],
        "dynamic": True,
        "executor": "docker",
        "outputs": {"created": "bool"},
        "env": {"CHILD": json.dumps(node)},
        **(creator or {}),
    }
    path = workflow(tmp_path / "wf", {"nodes": [plan]}, **{"create.py": CREATE, "report.py": REPORT})
    # the run's default executor stays local: only the creator is in a container
    result = weft("run", path, "--json")
    assert result.out, result.err
    shown = weft("show", result.json()["run"], "--json").json()
    return result.code, shown


def _node(shown: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((n for n in shown["nodes"] if n["id"] == node_id), None)


@pytest.mark.docker
@pytest.mark.parametrize(
    "child, reason",
    [
        ({"executor": "local"}, "would run with executor 'local', outside any container"),
        ({"executor": "docker", "network": True}, "asks for the network"),
        ({"executor": "docker", "resources": {"memory": "4g"}}, "asks for memory 4g"),
        ({"resources": {"pids": 100000}}, "asks for pids 100000"),
        ({"resources": {"cpus": 64}}, "asks for cpus 64"),
        ({"build": "img"}, "would build an image"),
    ],
    ids=["local", "network", "memory", "pids", "cpus", "build"],
)
def test_a_contained_task_cannot_create_a_node_that_reaches_further(
    weft, tmp_path, docker_image, docker_client, monkeypatch, child, reason
):
    monkeypatch.setenv("WEFT_TEST_SECRET", "engine-secret")
    (tmp_path / "wf" / "img").mkdir(parents=True)
    (tmp_path / "wf" / "img" / "Dockerfile").write_text(f"FROM {docker_image}\n")
    creator = {"resources": {"cpus": 1, "memory": "256m", "pids": 256}}
    code, shown = _run(weft, tmp_path, child, creator)
    assert code == 1
    plan = _node(shown, "plan")
    assert plan["state"] == "failed"
    assert "refused mutation" in plan["reason"] and reason in plan["reason"], plan["reason"]
    assert "a created node never reaches further than its creator" in plan["reason"]
    assert _node(shown, "child") is None
    assert "engine-secret" not in json.dumps(shown)
    assert containers_of(docker_client, shown["run"]) == []


@pytest.mark.docker
def test_a_created_node_with_no_executor_runs_in_a_container_like_its_creator(
    weft, tmp_path, docker_image, docker_client, monkeypatch
):
    """The attack as found: the run's default executor is local, the creator is in a
    container, and the created node names no executor. It must not land on the host."""
    monkeypatch.setenv("WEFT_TEST_SECRET", "engine-secret")
    code, shown = _run(weft, tmp_path, {})
    assert code == 0, shown
    report = shown["outputs"]["child"]["report"]
    assert report["in_container"] is True
    assert report["secret"] is None and report["docker_socket"] is False
    assert report["interfaces"] == ["lo"]
    assert report["workspace"] == "/workspace"
    assert containers_of(docker_client, shown["run"]) == []


@pytest.mark.docker
def test_a_created_node_inherits_and_may_narrow_its_creators_limits(weft, tmp_path, docker_image, docker_client):
    creator = {"resources": {"memory": "256m", "pids": 200}, "network": True}
    code, shown = _run(weft, tmp_path, {"resources": {"pids": 100}, "network": True}, creator)
    assert code == 0, shown
    assert shown["outputs"]["child"]["report"]["in_container"] is True
    assert containers_of(docker_client, shown["run"]) == []


@pytest.mark.docker
def test_inherited_limits_are_the_containers_limits(tmp_path, docker_image, docker_client, store):
    """What the created node inherits is what its container gets (inspected while it runs)."""
    import asyncio

    from engine.running.run import Run
    from engine.workflow.loader import load_file

    sleeper = "import time, weft_task as w\ntime.sleep(30)\n"
    node = {"id": "child", "command": ["python3", "sleep.py"]}
    plan = {
        "id": "plan",
        "command": ["python3", "create.py"],
        "dynamic": True,
        "executor": "docker",
        "outputs": {"created": "bool"},
        "env": {"CHILD": json.dumps(node)},
        "resources": {"memory": "300m", "pids": 123},
    }
    path = workflow(tmp_path / "wf", {"nodes": [plan]}, **{"create.py": CREATE, "sleep.py": sleeper})
    run = Run(load_file(path), store)
    seen: dict[str, Any] = {}

    async def go() -> None:
        task = asyncio.ensure_future(run.execute())
        for _ in range(300):
            await asyncio.sleep(0.1)
            found = docker_client.api.containers(filters={"label": [f"weft.run={run.id}", "weft.node=child"]})
            if found:
                seen.update(docker_client.api.inspect_container(found[0]["Id"])["HostConfig"])
                break
        run.cancel("test over")
        await task

    asyncio.run(go())
    assert seen["Memory"] == 300 * 1024 * 1024 and seen["PidsLimit"] == 123
    assert containers_of(docker_client, run.id) == []
