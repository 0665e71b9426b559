"""What only the docker executor does: isolation, limits, labels, builds, warm containers.

Everything runs through the real `weft` command line against a real engine (see the
`docker_image` fixture); the tasks report from inside their container what they see.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import containers_of

PROBE = """
    import os, socket, weft_task as w

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()

    def writable(folder):
        try:
            open(os.path.join(folder, ".probe"), "w").close()
            os.unlink(os.path.join(folder, ".probe"))
            return True
        except OSError:
            return False

    def read(path):
        try:
            return open(path).read().strip()
        except OSError:
            return None

    quota = read("/sys/fs/cgroup/cpu.max") or "%s %s" % (read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                                                        read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    w.output("report", {
        "cap_eff": status("CapEff"), "no_new_privs": status("NoNewPrivs"),
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "cwd": os.getcwd(), "workspace": os.environ["WEFT_WORKSPACE"], "start_workspace": w.workspace,
        "greeting": os.environ.get("GREETING"), "leak": os.environ.get("WEFT_TEST_SECRET"),
        "workflow_writable": writable("/workflow"), "workspace_writable": writable("/workspace"),
        "helper": w.__file__, "uid": os.getuid(),
        "memory": read("/sys/fs/cgroup/memory.max") or read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "cpu": quota,
    })
"""


def workflow(folder: Path, data: dict[str, Any], **scripts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(body))
    path = folder / "wf.weft.yaml"
    path.write_text(yaml.safe_dump({"weft": 1, "name": "docker-test", **data}, sort_keys=False))
    return path


def run(weft, path: Path, *extra: str) -> dict[str, Any]:
    result = weft("run", path, "--executor", "docker", "--json", *extra)
    assert result.out, result.err
    return weft("show", result.json()["run"], "--json").json()


@pytest.mark.docker
def test_a_task_sees_only_its_workspace_and_no_privileges(weft, tmp_path, docker_image, docker_client, monkeypatch):
    monkeypatch.setenv("WEFT_TEST_SECRET", "do-not-leak")
    path = workflow(
        tmp_path / "wf",
        {
            "nodes": [
                {
                    "id": "probe",
                    "command": ["python3", "probe.py"],
                    "workdir": "sub",
                    "env": {"GREETING": "hi"},
                    "outputs": {"report": "json"},
                }
            ]
        },
        **{"sub/probe.py": PROBE},
    )
    show = run(weft, path)
    assert show["state"] == "succeeded", show["nodes"]
    report = show["outputs"]["probe"]["report"]
    assert report["cap_eff"] == "0000000000000000" and report["no_new_privs"] == "1"
    assert report["interfaces"] == ["lo"]  # no network unless asked for
    assert report["cwd"] == "/workflow/sub" and report["greeting"] == "hi"
    assert report["workspace"] == report["start_workspace"] == "/workspace"
    assert report["leak"] is None  # the host's environment stays outside
    assert report["workspace_writable"] and not report["workflow_writable"]
    assert report["helper"] == "/opt/weft/weft_task.py"
    rootless = any("rootless" in str(o) for o in docker_client.info().get("SecurityOptions") or [])
    if not rootless:  # never host root: the user running weft, or nobody when that is root
        assert report["uid"] == (os.getuid() or 65534)
    assert containers_of(docker_client, show["run"]) == []


@pytest.mark.docker
def test_network_and_resources_when_asked_for(weft, tmp_path, docker_image, docker_client):
    path = workflow(
        tmp_path / "wf",
        {
            "nodes": [
                {
                    "id": "probe",
                    "command": ["python3", "probe.py"],
                    "network": True,
                    "outputs": {"report": "json"},
                    "resources": {"cpus": 0.5, "memory": "64m"},
                }
            ]
        },
        **{"probe.py": PROBE},
    )
    show = run(weft, path)
    assert show["state"] == "succeeded", show["nodes"]
    report = show["outputs"]["probe"]["report"]
    assert "lo" in report["interfaces"] and len(report["interfaces"]) > 1
    assert int(report["memory"]) == 64 * 1024 * 1024
    quota, period = report["cpu"].split()
    assert int(quota) / int(period) == 0.5


@pytest.mark.docker
def test_containers_are_labelled_isolated_and_stopped_on_ctrl_c(home, tmp_path, docker_image, docker_client):
    node = f"labelled-{uuid.uuid4().hex[:8]}"
    started = (
        "import os, time; open(os.path.join(os.environ['WEFT_WORKSPACE'], 'started'), 'w').close(); time.sleep(60)"
    )
    path = workflow(
        tmp_path / "wf",
        {
            "nodes": [
                {"id": node, "command": ["python3", "-c", started], "resources": {"cpus": 1.5, "memory": 100_000_000}}
            ]
        },
    )
    env = dict(os.environ, WEFT_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", str(path), "--executor", "docker", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(home.glob("workspaces/*/started")) and time.monotonic() < deadline:
            time.sleep(0.05)
        [marker] = home.glob("workspaces/*/started")
        run_id = marker.parent.name
        found = docker_client.containers.list(all=True, filters={"label": f"weft.node={node}"})
        assert len(found) == 1, (
            found,
            [(c.name, c.status, c.labels) for c in docker_client.containers.list(all=True)],
            proc.poll(),
            list(home.glob("workspaces/*/*")),
        )
        [container] = found
        assert container.labels["weft.run"] == run_id
        host = container.attrs["HostConfig"]
        assert host["Privileged"] is False and host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges"] and host["NetworkMode"] == "none"
        assert host["NanoCpus"] == 1_500_000_000 and host["Memory"] == 100_000_000
        assert host["Init"] is True and host["LogConfig"]["Type"] == "none"
        mounts = {m["Destination"]: (m["Source"], m["RW"]) for m in container.attrs["Mounts"]}
        assert mounts == {
            "/workspace": (str(marker.parent.resolve()), True),
            "/workflow": (str(path.parent.resolve()), False),
            "/opt/weft": (mounts["/opt/weft"][0], False),
        }
        assert Path(mounts["/opt/weft"][0], "weft_task.py").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads(out)["state"] == "cancelled"
    assert containers_of(docker_client, run_id) == []


@pytest.mark.docker
def test_file_values_cross_between_host_and_container_paths(weft, home, tmp_path, docker_image):
    make = """
        import weft_task as w
        path = w.path("out/data.txt")
        import os; os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("hello from a container")
        w.output("f", path)
    """
    use = """
        import weft_task as w
        w.output("seen", {"path": w.inputs["f"], "text": open(w.inputs["f"]).read()})
    """
    path = workflow(
        tmp_path / "wf",
        {
            "nodes": [
                {"id": "make", "command": ["python3", "make.py"], "outputs": {"f": "file"}},
                {"id": "use", "command": ["python3", "use.py"], "inputs": {"f": "file"}, "outputs": {"seen": "json"}},
                {
                    "id": "host",
                    "command": ["python3", "use.py"],
                    "inputs": {"f": "file"},
                    "outputs": {"seen": "json"},
                    "executor": "local",
                },
            ],
            "edges": [{"from": "make.f", "to": "use.f"}, {"from": "make.f", "to": "host.f"}],
        },
        **{"make.py": make, "use.py": use},
    )
    show = run(weft, path)
    assert show["state"] == "succeeded", show["nodes"]
    assert show["outputs"]["make"]["f"] == "out/data.txt"
    assert show["outputs"]["use"]["seen"] == {"path": "/workspace/out/data.txt", "text": "hello from a container"}
    host_path = home / "workspaces" / show["run"] / "out" / "data.txt"
    assert show["outputs"]["host"]["seen"] == {"path": str(host_path), "text": "hello from a container"}


# -- images built from a directory ------------------------------------------------------------


def _tags(client: Any, repository: str, since: float, until: float) -> list[str]:
    """Images of ``repository`` tagged (which a build ends with) between ``since`` and ``until``."""
    events = client.events(
        since=int(since), until=int(until) + 1, filters={"type": "image", "event": "tag"}, decode=True
    )
    return [
        e["Actor"]["Attributes"].get("name", "")
        for e in events
        if since <= e["timeNano"] / 1e9 <= until and e["Actor"]["Attributes"].get("name", "").startswith(repository)
    ]


@pytest.mark.docker
def test_build_is_cached_by_the_content_of_its_directory(weft, tmp_path, docker_image, docker_client):
    operator = f"greeter_{uuid.uuid4().hex[:8]}"
    dockerfile = "ARG WEFT_BASE_IMAGE\nFROM ${WEFT_BASE_IMAGE}\nCOPY hello.txt /opt/hello.txt\n"
    path = workflow(
        tmp_path / "wf",
        {
            "operators": {
                operator: {
                    "build": "img",
                    "outputs": {"hello": "str"},
                    "command": [
                        "python3",
                        "-c",
                        "import weft_task as w; w.output('hello', open('/opt/hello.txt').read())",
                    ],
                }
            },
            "nodes": [{"id": "greet", "operator": operator}],
        },
        **{"img/Dockerfile": dockerfile, "img/hello.txt": "v1"},
    )
    repository = f"weft-build/{operator}"
    try:
        t0 = time.time()
        first = run(weft, path)
        assert first["outputs"]["greet"]["hello"] == "v1", first["nodes"]
        t1 = time.time()
        assert _tags(docker_client, repository, t0, t1), "the first run builds"
        second = run(weft, path)
        assert second["outputs"]["greet"]["hello"] == "v1"
        assert not _tags(docker_client, repository, t1, time.time()), "an unchanged directory is not built again"
        (tmp_path / "wf" / "img" / "hello.txt").write_text("v2")
        third = run(weft, path)
        assert third["outputs"]["greet"]["hello"] == "v2"
        assert len(docker_client.images.list(name=repository)) == 2
    finally:
        for image in docker_client.images.list(name=repository):
            for tag in image.tags:
                docker_client.images.remove(tag, force=True)


@pytest.mark.docker
def test_a_failing_build_fails_its_node_and_a_missing_directory_fails_before_the_run(
    weft, tmp_path, docker_image, docker_client
):
    path = workflow(
        tmp_path / "bad",
        {"nodes": [{"id": "x", "build": "img", "command": ["true"]}]},
        **{"img/Dockerfile": "FROM weft-no-such-base-image-4711\n"},
    )
    show = run(weft, path)
    [node] = show["nodes"]
    assert node["state"] == "failed" and node["reason"].startswith("cannot build an image from ")
    missing = workflow(tmp_path / "missing", {"nodes": [{"id": "x", "build": "nowhere", "command": ["true"]}]})
    result = weft("run", missing, "--executor", "docker")
    assert result.code == 2 and "node 'x': build: nowhere is not a directory" in result.err
    assert len(weft("runs", "--json").json()) == 1  # only the first run


@pytest.mark.docker
def test_a_missing_image_fails_the_node_with_what_to_do(weft, tmp_path, docker_image):
    path = workflow(
        tmp_path / "wf", {"nodes": [{"id": "x", "image": "weft-no-such-image-4711:latest", "command": ["true"]}]}
    )
    [node] = run(weft, path)["nodes"]
    assert node["state"] == "failed"
    assert node["reason"].startswith(
        "image 'weft-no-such-image-4711:latest' is not on this machine and cannot be pulled ("
    )


# -- warm containers --------------------------------------------------------------------------

WARM_PROBE = """
    import os, socket, subprocess, sys, tempfile, weft_task as w

    def alive():
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    state = open("/proc/%s/stat" % name).read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if state != "Z":
                    pids.append(int(name))
        return pids

    seen = {"host": socket.gethostname(), "tmp": sorted(os.listdir("/tmp")), "tmpdir": tempfile.gettempdir(),
            "processes": len(alive()), "home": os.environ["HOME"]}
    try:
        open("/etc/weft-was-here", "w").close()
        seen["rootfs_writable"] = True
    except OSError:
        seen["rootfs_writable"] = False
    # leave things behind: files in /tmp and in $TMPDIR, a folder closed to everyone, a process in a
    # session of its own
    open("/tmp/leftover", "w").close()
    os.makedirs("/tmp/closed/inner")
    open("/tmp/closed/inner/file", "w").close()
    os.chmod("/tmp/closed/inner", 0)
    os.chmod("/tmp/closed", 0o500)
    open(os.path.join(tempfile.gettempdir(), "mine"), "w").close()
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    w.output("seen", seen)
    sys.exit(w.params.get("exit", 0))
"""


@pytest.mark.docker
def test_warm_containers_serve_many_tasks_each_from_a_clean_slate(weft, tmp_path, docker_image, docker_client):
    path = workflow(
        tmp_path / "wf",
        {
            "settings": {"max_parallel": 1},
            "operators": {"probe": {"command": ["python3", "probe.py"], "warm": True, "outputs": {"seen": "json"}}},
            "nodes": [
                {"id": "p1", "operator": "probe"},
                {"id": "p2", "operator": "probe", "params": {"exit": 3}},
                {"id": "p3", "operator": "probe"},
            ],
        },
        **{"probe.py": WARM_PROBE},
    )
    show = run(weft, path)
    nodes = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert nodes == {"p1": ("succeeded", None), "p2": ("failed", "exited with code 3"), "p3": ("succeeded", None)}
    seen = [show["outputs"]["p1"]["seen"], show["outputs"]["p3"]["seen"]]
    assert seen[0]["host"] == seen[1]["host"], "one container served them all"
    for task in seen:
        assert task["tmp"] == [Path(task["tmpdir"]).name], "a fresh, empty /tmp but for its own TMPDIR"
        assert task["home"] == task["tmpdir"]
        assert task["processes"] == 3, "init, the warm server and the task: nothing left from before"
        assert task["rootfs_writable"] is False
    assert containers_of(docker_client, show["run"]) == []


# -- no engine --------------------------------------------------------------------------------


def test_a_node_created_for_docker_without_an_engine_fails_alone(weft, tmp_path, monkeypatch):
    """A local run whose dynamic node creates a docker node: only that node fails, saying why."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    plan = """
        import weft_task as w
        w.add_node({"id": "boxed", "command": ["true"], "executor": "docker"})
    """
    path = workflow(
        tmp_path / "wf",
        {"nodes": [{"id": "plan", "command": ["python3", "plan.py"], "dynamic": True}]},
        **{"plan.py": plan},
    )
    result = weft("run", path, "--json")
    assert result.code == 1
    nodes = {n["id"]: (n["state"], n["reason"]) for n in weft("show", "last", "--json").json()["nodes"]}
    assert nodes["plan"] == ("succeeded", None)
    assert nodes["boxed"][0] == "failed"
    assert nodes["boxed"][1].startswith("cannot reach a Docker engine at unix:///nonexistent.sock (no such socket)")
