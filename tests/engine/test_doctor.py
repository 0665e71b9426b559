"""`weft doctor` checks the real machine: one line per check, exit 1 when a needed one is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def lines(out: str) -> dict[str, str]:
    """Each check's line by its name (the word after the mark)."""
    found = {}
    for line in out.splitlines():
        mark, rest = line.split(None, 1)
        name = rest.split(":", 1)[0]
        found[name] = f"{mark} {rest}"
    return found


@pytest.mark.docker
def test_with_docker_up_and_the_image_present_everything_needed_is_ok(
    weft: Any, docker_client: Any, docker_image: str, home: Path
) -> None:
    done = weft("doctor")
    found = lines(done.out)
    assert list(found) == ["Docker", "Default image", "Home", "GraphViz", "Ray"], done.out
    assert found["Docker"].startswith("ok Docker: engine ") and "answers at" in found["Docker"]
    assert found["Default image"] == f"ok Default image: {docker_image} is present"
    assert found["Home"] == f"ok Home: {home} is writable"
    assert done.code == 0, done.out


@pytest.mark.docker
def test_without_dot_on_path_it_says_how_to_get_graphviz_and_still_passes(
    weft: Any, docker_client: Any, docker_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    done = weft("doctor")
    graphviz = lines(done.out)["GraphViz"]
    assert graphviz.startswith("optional GraphViz: `dot` is not on PATH: install GraphViz, `sudo apt install graphviz`")
    assert done.code == 0, done.out  # pictures are optional


def test_an_engine_that_does_not_answer_is_missing_with_what_to_do(
    weft: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    done = weft("doctor")
    found = lines(done.out)
    assert found["Docker"].startswith(f"MISSING Docker: no engine answers at unix://{tmp_path / 'no-docker.sock'}: ")
    assert "start it" in found["Docker"] and "--executor local" in found["Docker"]
    assert (
        found["Default image"].startswith("MISSING Default image:") and "start Docker first" in found["Default image"]
    )
    assert done.code == 1 and done.err == ""


@pytest.mark.docker
def test_a_missing_default_image_says_how_to_pull_it(
    weft: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEFT_DOCKER_IMAGE", "weft-test/absent:never")
    done = weft("doctor")
    assert lines(done.out)["Default image"] == (
        "MISSING Default image: weft-test/absent:never is not present: `docker pull weft-test/absent:never`, "
        "or set $WEFT_DOCKER_IMAGE to an image you have"
    )
    assert done.code == 1


def test_a_home_that_cannot_be_written_is_missing(weft: Any, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    done = weft("--home", blocked / "weft", "doctor")
    home = lines(done.out)["Home"]
    assert home.startswith(f"MISSING Home: {blocked / 'weft'} is not writable (") and "set $WEFT_HOME" in home
    assert done.code == 1
