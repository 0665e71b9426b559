"""`weft doctor`: what this machine has for Weft, one line per check, and what to do about
each missing piece.

Checks: a Docker engine that answers, the default image present in it, the Weft home
writable (these three are *needed*: a missing one makes the exit code 1), GraphViz's `dot`
and Ray (*optional*: only `weft graph --format svg|png` and `executor: ray` use them; their
absence is reported, the exit code stays 0). The studio's Help ▸ Check setup shows the same
lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.home import default_home

NEEDED, OPTIONAL = "needed", "optional"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    #: what was found when ``ok``, else what is missing and what to do, in one sentence
    text: str
    kind: str = NEEDED

    @property
    def line(self) -> str:
        mark = "ok" if self.ok else ("MISSING" if self.kind == NEEDED else "optional")
        return f"{mark:<8} {self.name}: {self.text}"


def _install(what: str, apt: str, brew: str, winget: str) -> str:
    system = platform.system()
    if system == "Darwin":
        return f"`brew install {brew}`"
    if system == "Windows":
        return f"`winget install {winget}`"
    return f"`sudo apt install {apt}` (or your system's package manager)"


def check_docker() -> tuple[Check, object | None]:
    from engine.errors import InvalidInput
    from engine.executors.docker import connect, engine_address

    try:
        client = connect(timeout=5)
    except InvalidInput:
        where = engine_address()
        start = (
            "start Docker Desktop"
            if platform.system() in ("Darwin", "Windows")
            else "install Docker Engine (https://docs.docker.com/engine/install/) and start it "
            "(`sudo systemctl start docker`), and add yourself to the `docker` group"
        )
        return Check("Docker", False, f"no engine answers at {where}: {start}; or run with --executor local"), None
    try:
        version = client.version().get("Version", "?")
    except Exception:  # noqa: BLE001 - it answered the ping: the version is a nicety
        version = "?"
    return Check("Docker", True, f"engine {version} answers at {engine_address()}"), client


def check_image(client: object | None) -> Check:
    from engine.executors.docker_images import IMAGE_ENV, default_image

    image = default_image()
    if client is None:
        return Check("Default image", False, f"{image} cannot be looked for without Docker: start Docker first")
    import docker.errors

    try:
        client.images.get(image)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return Check(
            "Default image",
            False,
            f"{image} is not present: `docker pull {image}`, or set ${IMAGE_ENV} to an image you have",
        )
    except Exception as exc:  # noqa: BLE001 - any other answer: say it, in one line
        return Check("Default image", False, f"{image} could not be looked up ({type(exc).__name__})")
    return Check("Default image", True, f"{image} is present")


def check_home(home: Path) -> Check:
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-"):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        fix = "set $WEFT_HOME or --home to a folder you can write"
        return Check("Home", False, f"{home} is not writable ({why}): {fix}")
    return Check("Home", True, f"{home} is writable")


def check_graphviz() -> Check:
    from engine.cli.graphviz import find_dot

    dot = find_dot()
    if dot is None:
        how = _install("GraphViz", "graphviz", "graphviz", "graphviz")
        return Check("GraphViz", False, f"`dot` is not on PATH: install GraphViz, {how}, for pictures", OPTIONAL)
    return Check("GraphViz", True, f"`dot` at {dot}", OPTIONAL)


def check_ray() -> Check:
    if importlib.util.find_spec("ray") is None:
        fix = "`pip install 'ray[default]'` to run nodes with executor: ray"
        return Check("Ray", False, f"not installed: {fix}", OPTIONAL)
    address = os.environ.get("RAY_ADDRESS")
    where = f"; cluster from $RAY_ADDRESS {address}" if address else "; a local Ray starts per run"
    return Check("Ray", True, f"installed{where}", OPTIONAL)


def checks(home: Path | None = None) -> list[Check]:
    """Every check, in the order they are shown."""
    docker_check, client = check_docker()
    try:
        return [
            docker_check,
            check_image(client),
            check_home(home or default_home()),
            check_graphviz(),
            check_ray(),
        ]
    finally:
        if client is not None:
            client.close()  # type: ignore[attr-defined]


def healthy(found: list[Check]) -> bool:
    return all(c.ok for c in found if c.kind == NEEDED)


def cmd_doctor(args: argparse.Namespace) -> int:
    from engine.cli.render import printable

    found = checks(Path(args.home).expanduser() if args.home else None)
    for check in found:
        print(printable(check.line))
    return 0 if healthy(found) else 1
