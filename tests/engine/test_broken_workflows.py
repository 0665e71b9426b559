"""Broken workflow files and the errors `weft validate` must give: the corpus in tests/engine/broken/.

Each ``NN-short-name.weft.yaml`` there is a small workflow with exactly the mistakes its header
names, one per line:

    # expect: LINE:COL: SUBSTRING

Through the real command line (a subprocess, as a person would run it) every file must give
exit code 2, nothing on stdout, no traceback, one ``PATH:LINE:COL: error: REASON`` line per
mistake and then the ``N error(s)`` count: each ``expect`` matched by a line at exactly that
place holding that text, and no error lines beyond them (SPEC §2: all errors at once, each
with file, line and column and a one-line reason; never a traceback).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "broken"
CASES = sorted(CORPUS.glob("*.weft.yaml"))
EXAMPLES = sorted((REPO / "resources" / "examples").glob("*.weft.yaml"))
#: Files also run with `weft run`, which must refuse them the same way and record no run.
RUN_CASES = ("07-unknown-node-key", "24-incompatible-port-types", "39-many-errors")

_NAME = re.compile(r"^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.weft\.yaml$")
_EXPECT = re.compile(r"^# expect: (\d+):(\d+): (\S.*)$")
_ERROR = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): error: (?P<reason>\S.*)$")
_COUNT = re.compile(r"^(\d+) errors?$")


@dataclass(frozen=True)
class Expected:
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.text}"


@dataclass(frozen=True)
class Reported:
    line: int
    column: int
    reason: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.reason}"


def expectations(path: Path) -> list[Expected]:
    """The ``# expect:`` lines of the file's leading comment block."""
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        if raw.startswith("# expect:"):
            m = _EXPECT.match(raw)
            assert m, f"{path.name}: malformed expect line {raw!r}"
            found.append(Expected(int(m[1]), int(m[2]), m[3]))
    return found


def weft(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WEFT_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(WEFT_HOME, working folder), both fresh and empty."""
    home, cwd = tmp_path / "weft-home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    return home, cwd


def reported_errors(proc: subprocess.CompletedProcess[str], path: Path) -> list[Reported]:
    """Check the shape of a refusal on stderr and return its error lines."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines, "nothing on stderr"
    count = _COUNT.match(lines[-1])
    assert count, f"last stderr line is not the error count: {lines[-1]!r}"
    errors = []
    for line in lines[:-1]:
        m = _ERROR.match(line)
        assert m, f"not a PATH:LINE:COL: error: REASON line: {line!r}"
        assert m["path"] == str(path), f"error names another file: {line!r}"
        errors.append(Reported(int(m["line"]), int(m["col"]), m["reason"]))
    assert int(count[1]) == len(errors), proc.stderr
    return errors


def assert_matches(errors: list[Reported], expected: list[Expected]) -> None:
    missing = [
        e for e in expected if not any((r.line, r.column) == (e.line, e.column) and e.text in r.reason for r in errors)
    ]
    got = "\n".join(f"  {r}" for r in errors)
    assert not missing, "expected but not reported:\n" + "\n".join(f"  {e}" for e in missing) + f"\nreported:\n{got}"
    assert len(errors) == len(expected), f"{len(errors)} errors reported, {len(expected)} expected:\n{got}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30, f"only {len(CASES)} broken workflows in {CORPUS}"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name.removesuffix(".weft.yaml"))
def test_corpus_file_is_well_formed(path: Path) -> None:
    assert _NAME.match(path.name), f"{path.name} is not NN-short-name.weft.yaml"
    assert expectations(path), f"{path.name} has no '# expect: LINE:COL: text' header line"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name.removesuffix(".weft.yaml"))
def test_validate_reports_every_mistake(path: Path, dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    proc = weft("validate", str(path), home=home, cwd=cwd)
    assert_matches(reported_errors(proc, path), expectations(path))


@pytest.mark.parametrize("name", RUN_CASES)
def test_run_refuses_before_recording_a_run(name: str, dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    path = CORPUS / f"{name}.weft.yaml"
    validated = weft("validate", str(path), home=home, cwd=cwd)
    proc = weft("run", str(path), home=home, cwd=cwd)
    errors = reported_errors(proc, path)
    assert_matches(errors, expectations(path))
    assert errors == reported_errors(validated, path)
    runs = weft("runs", "--json", home=home, cwd=cwd)
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout) == []


def test_examples_exist() -> None:
    assert EXAMPLES, "no resources/examples/*.weft.yaml"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name.removesuffix(".weft.yaml"))
def test_examples_validate(path: Path, dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    proc = weft("validate", str(path), home=home, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "valid" in proc.stdout


#: Imported files in the corpus hold lines like these; no error may ever show them.
SECRETS = ("SECRET-do-not-print", "root:x:0:0", "daemon:x:1:1", "operatorz", "api_token")


@pytest.mark.parametrize(
    "name", ("54-import-absolute-outside", "58-import-invalid-yaml-secret", "59-import-not-a-library")
)
def test_errors_about_an_imported_file_never_quote_it(name: str, dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    proc = weft("validate", str(CORPUS / f"{name}.weft.yaml"), home=home, cwd=cwd)
    assert proc.returncode == 2
    assert not [s for s in SECRETS if s in proc.stderr], proc.stderr
