"""What runs on a Ray node for a ``ray`` task whose node names an image: standard library only.

Shipped by value like ``engine.executors.ray_remote``: a node needs Python, Ray and the
``docker`` command reaching a Docker engine (the one the node's containers should run on), not
Weft and not the Docker SDK. The engine prepares a *plan* (``engine.executors.ray_container``:
image or build, argv, env, mounts as the node sees them, limits, labels); here it becomes
``docker create`` then ``docker start --attach --interactive``, whose stdin/stdout/stderr are
the container's: the start line goes in, the chunks stream back exactly as a process's do.

What makes sure no container outlives its task:

- the container is removed (``docker rm -f``) when the task ends here, however it ends;
- a *guard* process in a session of its own, no child of the Ray worker (which kills its
  children when it exits), holds the read end of a pipe whose write end only
  this Ray worker holds: when the worker dies (``ray.cancel(force=True)``, its raylet or the
  whole cluster gone) the pipe closes and the guard removes the container;
- the engine's stop removes it by its labels (``end_containers``, pinned to this node);
- the end of a run, and ``weft resume``, remove every container labelled with the run on every
  alive node (``sweep_containers``).

Who the task runs as follows the docker executor (``engine.executors.docker.task_user``): the
user running the Ray worker, nobody when that is root (container root when nobody could not
read the workflow's folder, with the workspace closed to others and rid of setuid/setgid bits
afterwards), container root on a rootless engine.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

# functions, not the module: shipped by value, they need no Weft on the node
from engine.executors.ray_remote import _die_with_parent, _helper_dir, _node, _stream

NOBODY_ID = 65534
NOBODY = f"{NOBODY_ID}:{NOBODY_ID}"
ROOT = "0:0"
CALL_TIMEOUT = 120.0  # seconds a docker create / inspect may take (a pull may be slow)
BUILD_TIMEOUT = 3600.0
# Removes the container once its stdin (a pipe only the Ray worker writes) closes. It forks
# away from the worker first: a Ray worker that exits kills its own children (Ray's
# ``kill_child_processes_on_worker_exit``), and the guard must outlive it to do its work.
GUARD = (
    "import os, subprocess, sys\n"
    "if os.fork():\n    os._exit(0)\n"
    "sys.stdin.buffer.read()\n"
    "subprocess.run([sys.argv[1], 'rm', '-f', sys.argv[2]], capture_output=True)\n"
)


def _first_line(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no reason given"


def _docker(docker: str, *args: str, timeout: float = CALL_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([docker, *args], capture_output=True, timeout=timeout, preexec_fn=_die_with_parent)


def _rootless(docker: str) -> bool:
    """Is the engine rootless? Asked once per Ray worker process (kept in its environment)."""
    known = os.environ.get("WEFT_DOCKER_ROOTLESS")
    if known is None:
        found = _docker(docker, "info", "--format", "{{json .SecurityOptions}}")
        known = "1" if found.returncode == 0 and b"rootless" in found.stdout else "0"
        os.environ["WEFT_DOCKER_ROOTLESS"] = known
    return known == "1"


def _open_to_others(folder: str) -> bool:
    try:
        return os.stat(folder).st_mode & 0o005 == 0o005
    except OSError:
        return False


def task_user(docker: str, folder: str) -> str | None:
    if not hasattr(os, "getuid"):
        return None
    if _rootless(docker):
        return ROOT
    if os.getuid() == 0:
        return NOBODY if _open_to_others(folder) else ROOT
    return f"{os.getuid()}:{os.getgid()}"


def _share_workspace(workspace: str, user: str | None) -> None:
    if user == NOBODY and os.stat(workspace).st_uid != NOBODY_ID:
        os.chown(workspace, NOBODY_ID, NOBODY_ID)
    elif user == ROOT and hasattr(os, "getuid") and os.stat(workspace).st_mode & 0o077:
        os.chmod(workspace, 0o700)


def _clear_privileged_bits(workspace: str) -> None:
    for folder, dirs, files in os.walk(workspace):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
                if not stat.S_ISLNK(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
                    os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))
            except OSError:
                continue


def _csv(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def create_args(plan: dict[str, Any], image: str, user: str | None, helper: str, node_ip: str) -> list[str]:
    """``docker create`` arguments for ``plan`` (what ``DockerExecutor.config`` gives the SDK)."""
    args = ["create", "--interactive", "--init", "--log-driver", "none"]
    args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    args += ["--network", "bridge" if plan["network"] else "none"]
    limits = plan["limits"]
    args += ["--memory", str(limits["memory"]), "--memory-swap", str(limits["memory"])]
    args += ["--pids-limit", str(limits["pids"])]
    if limits.get("cpus") is not None:
        args += ["--cpus", str(limits["cpus"])]
    for source, target, mode in plan["binds"]:
        fields = ["type=bind", f"source={helper if source is None else source}", f"target={target}"]
        args += ["--mount", _csv(fields + (["readonly"] if mode == "ro" else []))]
    for target, options in plan["tmpfs"]:
        args += ["--tmpfs", f"{target}:{options}"]
    for key, value in plan["labels"].items():
        args += ["--label", f"{key}={value}"]
    env = dict(plan["env"])
    env["WEFT_RAY_NODE"] = node_ip
    if user not in (None, ROOT):
        env.setdefault("HOME", "/tmp")
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    if user is not None:
        args += ["--user", user]
    args += ["--workdir", plan["workdir"], "--", image, *plan["argv"]]
    return args


def _image(docker: str, plan: dict[str, Any], ip: str) -> tuple[str | None, str | None]:
    """The image to run (built here from ``plan['build']`` unless this engine has its tag), or why not."""
    build = plan.get("build")
    if build is None:
        return plan["image"], None
    tag = build["tag"]
    if _docker(docker, "image", "inspect", "--format", "{{.Id}}", tag).returncode == 0:
        return tag, None
    if not os.path.isdir(build["directory"]):
        return None, f"build: {build['directory']} does not exist on Ray node {ip}"
    args = ["build", "--quiet", "--tag", tag, "--label", f"weft.build={build['directory']}"]
    for key, value in build["args"].items():
        args += ["--build-arg", f"{key}={value}"]
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the classic builder works offline from local images
    done = subprocess.run(
        [docker, *args, build["directory"]],
        capture_output=True,
        timeout=BUILD_TIMEOUT,
        env=env,
        preexec_fn=_die_with_parent,
    )
    if done.returncode != 0:
        return None, f"cannot build an image from {build['directory']} on Ray node {ip}: {_first_line(done.stderr)}"
    return tag, None


def container_task(plan: dict[str, Any], start_line: bytes, helper: tuple[str, bytes]) -> Iterator[tuple[Any, ...]]:
    """Run one task in a container on this node; yields what ``ray_remote.task`` yields."""
    ip, node_id = _node()
    docker = shutil.which("docker")
    if docker is None:
        yield ("launch", f"Ray node {ip} has no docker command: it cannot run containers")
        return
    try:
        image, problem = _image(docker, plan, ip)
        if image is None:
            yield ("launch", problem)
            return
        user = task_user(docker, plan["folder"])
        try:
            _share_workspace(plan["workspace"], user)
        except OSError as exc:
            where = f"the workspace {plan['workspace']} on Ray node {ip}"
            yield ("launch", f"cannot prepare {where}: {exc.strerror or exc}")
            return
        created = _docker(docker, *create_args(plan, image, user, _helper_dir(helper[1]), ip))
    except subprocess.TimeoutExpired as exc:
        yield ("launch", f"Docker on Ray node {ip} did not answer within {exc.timeout:g} s")
        return
    except OSError as exc:  # the docker command itself could not run
        yield ("launch", f"cannot run docker on Ray node {ip}: {exc.strerror or exc}")
        return
    if created.returncode != 0:
        yield ("launch", f"cannot create a container on Ray node {ip}: {_first_line(created.stderr)}")
        return
    cid = created.stdout.decode().strip()
    read_end, write_end = os.pipe()
    try:
        try:
            subprocess.run(  # returns once the guard has forked away
                [sys.executable, "-c", GUARD, docker, cid],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                timeout=CALL_TIMEOUT,
            )
        finally:
            os.close(read_end)
        proc = subprocess.Popen(
            [docker, "start", "--attach", "--interactive", cid],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        yield ("started", ip, node_id, proc.pid)
        yield from _stream(proc, start_line)
        code = proc.wait()
        inspected = _docker(docker, "inspect", "--format", "{{.State.ExitCode}}", cid)
        if inspected.returncode == 0:  # the container's own status, not the client's
            code = int(inspected.stdout.strip() or code)
    finally:
        _docker(docker, "rm", "-f", cid)
        os.close(write_end)
        if user == ROOT:
            _clear_privileged_bits(plan["workspace"])
    yield ("exit", -(code - 128) if 128 < code <= 128 + 64 else code)


def end_containers(labels: dict[str, str], grace: float) -> int:
    """Stop (SIGTERM, SIGKILL after ``grace`` s) and remove this node's containers carrying every
    one of ``labels``; how many."""
    docker = shutil.which("docker")
    if docker is None:
        return 0
    filters = [arg for key, value in labels.items() for arg in ("--filter", f"label={key}={value}")]
    found = _docker(docker, "ps", "--all", "--quiet", *filters)
    ids = found.stdout.decode().split() if found.returncode == 0 else []
    if ids:
        _docker(docker, "stop", "--time", str(max(0, math.ceil(grace))), *ids)
        _docker(docker, "rm", "-f", *ids)
    return len(ids)


def sweep_containers(run: str) -> int:
    """Remove every container of run ``run`` on this node at once."""
    return end_containers({"weft.run": run}, 0)


def probe() -> str | None:
    """None if this node reaches a Docker engine with its ``docker`` command, else why not."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command"
    try:
        found = _docker(docker, "version", "--format", "{{.Server.Version}}", timeout=10)
    except subprocess.TimeoutExpired:
        return "its Docker engine does not answer"
    return None if found.returncode == 0 else _first_line(found.stderr)
