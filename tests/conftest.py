"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def alive(pid: int) -> bool:
    """Does process ``pid`` still run? A zombie (dead, not reaped yet) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh WEFT_HOME: its own database and workspaces."""
    path = tmp_path / "weft-home"
    path.mkdir()
    return path


@pytest.fixture
def weft(home: Path):
    """Run the real `weft` command line in a subprocess against the test's home."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None, **kwargs: Any) -> CliResult:
        env = dict(os.environ, WEFT_HOME=str(home))
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or home,
            env=env,
            **kwargs,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return call


# -- Docker -----------------------------------------------------------------------------------
# Docker tests run against a real engine. Without one they are skipped, with the reason, unless
# WEFT_REQUIRE_DOCKER=1 (as in CI), where a missing engine or image fails them instead.
# WEFT_TEST_IMAGE names the image they run (default python:3.12-slim; CI builds one offline).

DEFAULT_TEST_IMAGE = "python:3.12-slim"


def _docker_missing(reason: str) -> None:
    if os.environ.get("WEFT_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (WEFT_REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    """A client of the Docker engine the tests use (the one `weft` would find)."""
    from engine.errors import InvalidInput
    from engine.executors.docker import connect

    try:
        client = connect()
    except InvalidInput as exc:
        _docker_missing(str(exc))
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_test_image(docker_client) -> str:
    from docker.errors import DockerException, ImageNotFound

    image = os.environ.get("WEFT_TEST_IMAGE") or DEFAULT_TEST_IMAGE
    try:
        docker_client.images.get(image)
    except ImageNotFound:
        try:
            docker_client.images.pull(image)
        except DockerException as exc:
            _docker_missing(
                f"test image {image} is not on this machine and cannot be pulled ({exc}); "
                "set WEFT_TEST_IMAGE to a local image with python3"
            )
    return image


@pytest.fixture
def docker_image(docker_test_image: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test image, also made the default image of every docker node (in-process and in
    the `weft` subprocesses) through WEFT_DOCKER_IMAGE."""
    monkeypatch.setenv("WEFT_DOCKER_IMAGE", docker_test_image)
    return docker_test_image


def containers_of(client: Any, run_id: str) -> list[str]:
    """Names of the containers (running or not) labelled with ``run_id``."""
    return [c.name for c in client.containers.list(all=True, filters={"label": f"weft.run={run_id}"})]


@pytest.fixture
def graphviz() -> str:
    """GraphViz's `dot`; missing, the test skips (or fails where WEFT_REQUIRE_GRAPHVIZ=1, as in CI)."""
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("WEFT_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail("GraphViz's `dot` is not on PATH, and WEFT_REQUIRE_GRAPHVIZ=1")
        pytest.skip("GraphViz's `dot` is not installed")
    return dot
