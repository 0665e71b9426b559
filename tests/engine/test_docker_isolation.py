"""What a container may never do to its host, or see of it: the docker executor's hard edges.

- a task never runs as host root, so nothing it leaves in the workspace (a setuid copy of a
  shell) is a way to root on the host;
- a task never sees the Weft home (the run database, other runs' workspaces), even when the
  home lies inside the workflow's folder;
- every container has a memory and a pids limit, whether or not its node asks for one.

Docker tests run the real `weft` command line against a real engine, as in test_docker.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import LaunchError, WorkflowInvalid
from engine.executors.docker import DEFAULT_MEMORY, DEFAULT_PIDS, effective_limits, hidden_home, memory_bytes
from engine.workflow.loader import load_text
from tests.conftest import containers_of
from tests.engine.test_docker import workflow

GiB = 1024**3


def run(weft, path: Path, *options: str) -> dict[str, Any]:
    """``weft [options] run path --executor docker``, then what ``weft show`` says of the run."""
    result = weft(*options, "run", path, "--executor", "docker", "--json")
    assert result.out, result.err
    return weft(*options, "show", result.json()["run"], "--json").json()


def rootless(client: Any) -> bool:
    return any("rootless" in str(option) for option in client.info().get("SecurityOptions") or [])


# -- 1. never host root ---------------------------------------------------------------------

PLANT = """
    import os, shutil, subprocess, weft_task as w

    made = {}
    for suffix, mode in (("suid", 0o4755), ("sgid", 0o2755)):
        path = "/workspace/%s-%s" % (os.environ["WEFT_NODE"], suffix)
        shutil.copy("/bin/sh", path)
        os.chmod(path, mode)
        made[suffix] = oct(os.stat(path).st_mode)
    home = os.environ["HOME"]
    open(os.path.join(home, ".weft-probe"), "w").close()  # $HOME works
    w.output("inside", {"id": subprocess.check_output(["id", "-u"]).decode().strip(), "made": made,
                        "home": home})
"""


def planted_files(workspace: Path) -> list[Path]:
    """The copies of a shell PLANT made in ``workspace``, each checked: none is setuid or setgid root."""
    planted = sorted(workspace.glob("*-s?id"))
    assert [p.name for p in planted] == ["cold-sgid", "cold-suid", "warm-sgid", "warm-suid"]
    for file in planted:
        st = file.stat()
        assert st.st_uid != 0 or not st.st_mode & stat.S_ISUID, f"{file.name}: setuid root on the host"
        assert st.st_gid != 0 or not st.st_mode & stat.S_ISGID, f"{file.name}: setgid root on the host"
    return planted


@pytest.mark.docker
def test_a_task_cannot_plant_a_setuid_root_file_on_the_host(weft, home, tmp_path, docker_image, docker_client):
    path = workflow(
        tmp_path / "wf",
        {
            "operators": {"plant": {"command": ["python3", "plant.py"], "outputs": {"inside": "json"}}},
            "nodes": [{"id": "cold", "operator": "plant"}, {"id": "warm", "operator": "plant", "warm": True}],
        },
        **{"plant.py": PLANT},
    )
    show = run(weft, path)
    assert show["state"] == "succeeded", show["nodes"]
    for node in ("cold", "warm"):
        inside = show["outputs"][node]["inside"]
        if not rootless(docker_client):  # there container root is the (unprivileged) user of the engine
            assert inside["id"] != "0", node
        if os.getuid() != 0:
            assert inside["id"] == str(os.getuid()), node
    for file in planted_files(home / "workspaces" / show["run"]):
        file.unlink()  # and what a task writes stays the host user's to remove
    assert containers_of(docker_client, show["run"]) == []


@pytest.mark.docker
def test_a_workflow_folder_closed_to_others_still_runs_and_plants_nothing(
    weft, home, tmp_path, docker_image, docker_client
):
    """A folder of mode 0700 (a private project, pytest's own tmp_path): nobody could not read
    the task's scripts, so when Weft is root its tasks run as container root; their workspace is
    closed to every other user and, once a task ends, holds no setuid or setgid bit."""
    folder = tmp_path / "private"
    path = workflow(
        folder,
        {
            "operators": {"plant": {"command": ["python3", "plant.py"], "outputs": {"inside": "json"}}},
            "nodes": [{"id": "cold", "operator": "plant"}, {"id": "warm", "operator": "plant", "warm": True}],
        },
        **{"plant.py": PLANT},
    )
    folder.chmod(0o700)
    show = run(weft, path)
    assert show["state"] == "succeeded", show["nodes"]
    workspace = home / "workspaces" / show["run"]
    planted = planted_files(workspace)
    if os.getuid() == 0 and not rootless(docker_client):
        assert stat.S_IMODE(workspace.stat().st_mode) == 0o700
        assert all(not p.stat().st_mode & (stat.S_ISUID | stat.S_ISGID) for p in planted)
    assert containers_of(docker_client, show["run"]) == []


# -- 2. never the Weft home -----------------------------------------------------------------

PEEK = """
    import os, weft_task as w

    def read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return None

    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError:
            return None

    other = w.params["other"]
    seen = {
        "home": listing("/workflow/.weft"),
        "db": read("/workflow/.weft/weft.db") is not None,
        "other_run": read("/workflow/.weft/workspaces/%s/secret.txt" % other),
        "anywhere": sorted(os.path.join(top, name) for top, _, names in os.walk("/workflow") for name in names
                           if name.startswith("weft.db") or name == "secret.txt"),
        "data": read("/workflow/data.txt"),
    }
    with open("/workspace/%s.txt" % os.environ["WEFT_NODE"], "w") as f:
        f.write("mine")
    w.output("seen", seen)
"""


@pytest.mark.docker
def test_a_task_never_sees_the_home_inside_the_workflow_folder(weft, tmp_path, docker_image, docker_client):
    folder = tmp_path / "wf"
    inner = folder / ".weft"
    first = workflow(
        tmp_path / "first",
        {
            "nodes": [
                {
                    "id": "keep",
                    "executor": "local",
                    "command": [
                        "python3",
                        "-c",
                        "import os; open(os.environ['WEFT_WORKSPACE'] + '/secret.txt', 'w').write('other run')",
                    ],
                }
            ]
        },
    )
    earlier = run(weft, first, "--home", str(inner))
    assert earlier["state"] == "succeeded", earlier["nodes"]
    assert (inner / "workspaces" / earlier["run"] / "secret.txt").is_file()
    path = workflow(
        folder,
        {
            "operators": {"peek": {"command": ["python3", "peek.py"], "outputs": {"seen": "json"}}},
            "nodes": [
                {"id": "cold", "operator": "peek", "params": {"other": earlier["run"]}},
                {"id": "warm", "operator": "peek", "warm": True, "params": {"other": earlier["run"]}},
            ],
        },
        **{"peek.py": PEEK, "data.txt": "the workflow's own"},
    )
    show = run(weft, path, "--home", str(inner))
    assert show["state"] == "succeeded", show["nodes"]
    for node in ("cold", "warm"):
        seen = show["outputs"][node]["seen"]
        assert seen["home"] in ([], None), (node, seen)
        assert seen["db"] is False and seen["other_run"] is None and seen["anywhere"] == [], (node, seen)
        assert seen["data"] == "the workflow's own", node
        assert (inner / "workspaces" / show["run"] / f"{node}.txt").read_text() == "mine"
    assert containers_of(docker_client, show["run"]) == []


@pytest.mark.docker
@pytest.mark.parametrize("where", ["home", "run"])
def test_a_workflow_folder_that_is_the_home_or_in_a_run_is_refused(
    weft, home, tmp_path, docker_image, docker_client, where
):
    """``run``: a workflow file kept in (here: made to look like) an earlier run's workspace."""
    folder = home if where == "home" else home / "workspaces" / "r-earlier" / "flows"
    path = workflow(folder, {"nodes": [{"id": "x", "command": ["python3", "-c", "print('ran')"]}]})
    show = run(weft, path)
    [node] = show["nodes"]
    assert node["state"] == "failed"
    assert node["reason"] == (
        f"the workflow's folder {folder.resolve()} is inside the Weft home {home.resolve()}, "
        "which a container must not see: keep the workflow outside it, or run this node "
        "with executor: local"
    )
    assert containers_of(docker_client, show["run"]) == []


@pytest.mark.docker
def test_a_workflow_folder_elsewhere_in_the_home_runs(weft, tmp_path, docker_image, docker_client):
    """A home of ``~`` and a workflow in ``~/project``: the folder holds nothing of Weft's."""
    outer = tmp_path / "user-home"
    path = workflow(
        outer / "project",
        {
            "nodes": [
                {
                    "id": "x",
                    "outputs": {"seen": "json"},
                    "command": [
                        "python3",
                        "-c",
                        "import os, weft_task as w; w.output('seen', sorted(os.listdir('/workflow')))",
                    ],
                }
            ]
        },
    )
    show = run(weft, path, "--home", str(outer))
    assert show["state"] == "succeeded", show["nodes"]
    assert show["outputs"]["x"]["seen"] == ["wf.weft.yaml"]
    assert (outer / "weft.db").is_file()
    assert containers_of(docker_client, show["run"]) == []


def test_where_the_home_is_hidden(tmp_path):
    folder = tmp_path / "wf"

    def hidden(home: Path | None) -> str | None:
        return hidden_home(folder, home, (home or tmp_path) / "workspaces")

    assert hidden(None) is None
    assert hidden(tmp_path / "elsewhere") is None
    assert hidden(tmp_path) is None  # the folder is in the home, but holds none of its runs
    assert hidden(folder / ".weft") == "/workflow/.weft"
    assert hidden(folder / "a" / "b") == "/workflow/a/b"
    for home, runs in ((folder, folder / "workspaces"), (tmp_path, folder), (tmp_path.parent, tmp_path)):
        with pytest.raises(LaunchError, match="is inside the Weft home"):
            hidden_home(folder, home, runs)


# -- 3. limits ------------------------------------------------------------------------------

WAIT_FOR_GO = (
    "import os, time; ws = os.environ['WEFT_WORKSPACE']; node = os.environ['WEFT_NODE']\n"
    "open(os.path.join(ws, 'started-' + node), 'w').close()\n"
    "deadline = time.time() + 60\n"
    "while not os.path.exists(os.path.join(ws, 'go')) and time.time() < deadline: time.sleep(0.05)\n"
)


@pytest.mark.docker
def test_containers_get_default_limits_unless_the_node_sets_them(home, tmp_path, docker_image, docker_client):
    nodes = [
        {"id": "plain", "command": ["python3", "-c", WAIT_FOR_GO]},
        {"id": "warm", "command": ["python3", "-c", WAIT_FOR_GO], "warm": True},
        {
            "id": "capped",
            "command": ["python3", "-c", WAIT_FOR_GO],
            "resources": {"memory": "256m", "pids": 100, "cpus": 0.5},
        },
    ]
    path = workflow(tmp_path / "wf", {"settings": {"max_parallel": 3}, "nodes": nodes})
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", str(path), "--executor", "docker", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(home.glob("workspaces/*/started-*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        markers = list(home.glob("workspaces/*/started-*"))
        assert len(markers) == 3, (markers, proc.poll())
        workspace = markers[0].parent
        found = docker_client.containers.list(filters={"label": f"weft.run={workspace.name}"})
        host = {c.labels["weft.node"]: c.attrs["HostConfig"] for c in found}
        assert sorted(host) == ["capped", "plain", "warm"]
        for node in ("plain", "warm"):
            assert host[node]["Memory"] == DEFAULT_MEMORY == 2 * GiB, node
            assert host[node]["PidsLimit"] == DEFAULT_PIDS == 1024, node
            assert not host[node]["NanoCpus"], node
        assert host["capped"]["Memory"] == 256 * 1024**2
        assert host["capped"]["PidsLimit"] == 100 and host["capped"]["NanoCpus"] == 500_000_000
        (workspace / "go").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed check: Ctrl+C, so weft removes its containers as ever
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["state"] == "succeeded"
    assert containers_of(docker_client, workspace.name) == []


FORK_UNTIL_REFUSED = """
    import os, signal, weft_task as w

    children = []
    refused = None
    for _ in range(5000):
        try:
            pid = os.fork()
        except OSError as exc:
            refused = exc.strerror
            break
        if pid == 0:
            signal.pause()
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    w.output("bomb", {"forked": len(children), "refused": refused})
"""


@pytest.mark.docker
def test_a_fork_bomb_ends_within_the_pids_limit(weft, tmp_path, docker_image, docker_client):
    path = workflow(
        tmp_path / "wf",
        {
            "nodes": [
                {
                    "id": "counted",
                    "command": ["python3", "bomb.py"],
                    "outputs": {"bomb": "json"},
                    "resources": {"pids": 64},
                },
                {
                    "id": "classic",
                    "shell": True,
                    "command": "b() { b | b & }; b; sleep 30",
                    "timeout": 3,
                    "resources": {"pids": 64, "cpus": 0.5},
                },
            ]
        },
        **{"bomb.py": FORK_UNTIL_REFUSED},
    )
    started = time.monotonic()
    show = run(weft, path)
    assert time.monotonic() - started < 60
    nodes = {n["id"]: n for n in show["nodes"]}
    assert nodes["counted"]["state"] == "succeeded", nodes
    bomb = show["outputs"]["counted"]["bomb"]
    assert bomb["refused"] is not None and 0 < bomb["forked"] < 64, bomb
    assert nodes["classic"]["state"] == "failed", nodes  # stopped at its timeout, with its bomb
    assert subprocess.run(["true"]).returncode == 0  # the host can still start processes
    assert containers_of(docker_client, show["run"]) == []


def test_memory_sizes_read_as_docker_reads_them():
    assert memory_bytes(1_000_000) == 1_000_000
    assert memory_bytes("512m") == memory_bytes("512M") == memory_bytes("512mb") == 512 * 1024**2
    assert memory_bytes("2g") == memory_bytes("2GiB") == memory_bytes("2 GB") == 2 * GiB
    assert memory_bytes("1.5g") == int(1.5 * GiB)
    assert memory_bytes("100") == memory_bytes("100b") == 100
    assert memory_bytes("1k") == 1024 and memory_bytes("1t") == 1024**4
    wrong: list[Any] = ["lots", "", "1x", "-1m", "1ib", True, 1.5, None]
    for bad in wrong:
        with pytest.raises(ValueError):
            memory_bytes(bad)


def test_effective_limits_apply_the_defaults():
    assert (
        effective_limits({}) == effective_limits(None) == {"memory": DEFAULT_MEMORY, "pids": DEFAULT_PIDS, "cpus": None}
    )
    assert effective_limits({"memory": "256m", "pids": 10, "cpus": 1}) == {
        "memory": 256 * 1024**2,
        "pids": 10,
        "cpus": 1.0,
    }
    assert effective_limits({"cpus": 0.5}) == {"memory": DEFAULT_MEMORY, "pids": DEFAULT_PIDS, "cpus": 0.5}


def test_pids_is_a_positive_whole_number():
    node = load_text("weft: 1\nnodes: [{id: a, command: [x], resources: {pids: 64}}]\n").workflow.nodes[0]
    assert node.resources == {"pids": 64}
    for bad, why in (
        ("0", "resources.pids must be at least 1, not 0"),
        ("1.5", "resources.pids must be a whole number"),
        ("many", "resources.pids must be a whole number"),
    ):
        with pytest.raises(WorkflowInvalid, match=why):
            load_text(f"weft: 1\nnodes: [{{id: a, command: [x], resources: {{pids: {bad}}}}}]\n")


def test_the_schema_knows_pids():
    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).resolve().parents[2] / "resources/schema/weft.schema.json").read_text())
    validator = Draft202012Validator(schema)

    def problems(pids: Any) -> list[str]:
        document = {"weft": 1, "nodes": [{"id": "a", "command": ["x"], "resources": {"pids": pids}}]}
        return [e.message for e in validator.iter_errors(document)]

    assert problems(64) == []
    assert problems(0) and problems(1.5) and problems("64")
