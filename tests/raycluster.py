"""A real two-node Ray cluster on loopback for the ray executor's tests.

The head listens on 127.0.0.2 and a worker node joins from 127.0.0.3 (Ray replaces 127.0.0.1
with the machine's address). Each node is started by `ray start` in a session of its own, so
its daemons form one process group: a node is stopped by signalling its group, never by
`ray stop` (which would stop every Ray of the user on the machine). Every port is chosen
free, and the cluster's files live in a temporary folder of its own.

The worker node offers the custom resource ``worker`` and the head ``head``, so a task can be
pinned to either.

Ray's token authentication is off for it (``ENV``: the nodes, and every driver the tests start,
get ``RAY_AUTH_MODE=disabled``): with the mode unset, a token a local ``ray.init()`` once wrote
to ``~/.ray/auth_token`` would switch it on for some processes and not for others.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD_IP = "127.0.0.2"
WORKER_IP = "127.0.0.3"
CPUS = 2
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def _ray_command() -> str:
    return str(Path(sys.executable).with_name("ray"))


class RayCluster:
    def __init__(self) -> None:
        # short: Ray's socket paths live inside it (a unix socket path has ~107 bytes at most)
        self.temp = Path(tempfile.mkdtemp(prefix="wray-", dir="/tmp"))
        self.port = free_port(HEAD_IP)
        self.groups: dict[str, int] = {}  # "head" | "worker" -> process group of its daemons

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.port}"

    def _start(self, name: str, args: list[str]) -> None:
        common = [
            "--disable-usage-stats",
            f"--num-cpus={CPUS}",
            "--object-store-memory=100000000",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ]
        env = dict(os.environ, **ENV)
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.run(
            [_ray_command(), "start", *args, *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            start_new_session=True,
            check=False,
        )
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"`ray start` of the {name} failed:\n{proc.stdout}\n{proc.stderr}")
        # the daemons stay in the session `ray start` made: one process group
        self.groups[name] = self._group_of(proc.args, proc)

    def _group_of(self, args: object, proc: subprocess.CompletedProcess[str]) -> int:
        """The process group `ray start` ran in: its daemons' (found by the node's address)."""
        ip = HEAD_IP if "--head" in str(args) else WORKER_IP
        for pid in _pids():
            cmd = _cmdline(pid)
            if "raylet" in cmd and f"--node_ip_address={ip}" in cmd and str(self.temp) in cmd:
                return os.getpgid(pid)
        raise RuntimeError(f"no raylet found for {ip}: {proc.stdout}\n{proc.stderr}")

    def start(self) -> RayCluster:
        self.start_head()
        self.start_worker()
        return self

    def start_head(self) -> None:
        self._start(
            "head",
            [
                "--head",
                f"--node-ip-address={HEAD_IP}",
                f"--port={self.port}",
                f"--temp-dir={self.temp}",
                "--include-dashboard=false",
                f"--resources={json.dumps({'head': 1})}",
            ],
        )

    def start_worker(self) -> None:
        self._start(
            "worker",
            [
                f"--address={self.address}",
                f"--node-ip-address={WORKER_IP}",
                f"--resources={json.dumps({'worker': 1})}",
            ],
        )
        self.wait_nodes(2)

    def wait_nodes(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` nodes are alive (as `ray status` would say), by the GCS's node table."""
        code = (
            "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False);"
            "print(sum(1 for n in ray.nodes() if n['Alive']))"
        )
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(
                [sys.executable, "-c", code, self.address],
                capture_output=True,
                text=True,
                timeout=60,
                env=dict(os.environ, **ENV),
            ).stdout.strip()
            if out == str(count):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster has {out or 'no'} alive nodes, not {count}")
            time.sleep(0.5)

    def raylet_pid(self, name: str) -> int:
        group = self.groups[name]
        for pid in _pids():
            if "raylet/raylet" in _cmdline(pid) and _pgid(pid) == group:
                return pid
        raise RuntimeError(f"no raylet in the {name}'s group")

    def kill_worker_raylet(self) -> None:
        """The worker node dies as a crashed machine would: its raylet first, then the rest."""
        os.kill(self.raylet_pid("worker"), signal.SIGKILL)
        self.stop_node("worker", sig=signal.SIGKILL)

    def stop_node(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        group = self.groups.pop(name, None)
        if group is None:
            return
        _killpg(group, sig)
        deadline = time.monotonic() + 3
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        _killpg(group, signal.SIGKILL)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop every node (no daemon of this cluster is left); SIGKILL: as if the machines vanished."""
        self.stop_node("worker", sig)
        self.stop_node("head", sig)

    def ensure(self) -> None:
        """Both nodes running again, after a test stopped either."""
        if "head" not in self.groups:
            self.stop()
            self.start()
        elif "worker" not in self.groups:
            self.start_worker()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.temp, ignore_errors=True)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _killpg(group: int, sig: signal.Signals) -> None:
    try:
        os.killpg(group, sig)
    except OSError:
        pass


def _group_alive(group: int) -> bool:
    for pid in _pids():
        if _pgid(pid) == group:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                return True
    return False
