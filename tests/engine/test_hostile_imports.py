"""Workflow files and imports that are not what they seem: pipes, devices, huge files, files
outside the workflow's folder, files that are not Weft libraries.

`weft validate` must answer each with located one-line errors and exit 2: never hang on a
named pipe, never read /dev/zero until memory runs out, never read (let alone quote) a file
outside the workflow's folder and the library folders. Workflows here carry the same
``# expect: LINE:COL: TEXT`` headers as the corpus in tests/engine/broken/, for cases that
need a file made on the spot (a pipe, a 4 MiB file, a symlink).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from engine.errors import ProblemCollector, WorkflowInvalid
from engine.workflow import yamlsrc
from engine.workflow.loader import MAX_LIBRARY_BYTES, MAX_WORKFLOW_BYTES, SHIPPED_LIBRARY, load_file, load_library
from tests.engine.test_broken_workflows import REPO, assert_matches, expectations, reported_errors


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "flow"
    path.mkdir()
    return path


def weft(*args: str, home: Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """The real command line, with ``extra`` environment (a stuck read fails the test after 60 s)."""
    env = dict(os.environ, WEFT_HOME=str(home), **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def refused_as_expected(workflow: Path, home: Path, **env: str) -> str:
    """Validate ``workflow`` and check its errors against its ``# expect:`` header; the stderr."""
    proc = weft("validate", str(workflow), home=home, cwd=workflow.parent, **env)
    assert_matches(reported_errors(proc, workflow), expectations(workflow))
    return proc.stderr


def one_line_refusal(path: Path | str, home: Path, cwd: Path) -> str:
    proc = weft("validate", str(path), home=home, cwd=cwd)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


# -- imports ----------------------------------------------------------------------------------


def test_a_named_pipe_as_import_is_refused_without_waiting_for_a_writer(folder: Path, home: Path) -> None:
    os.mkfifo(folder / "pipe.weft.yaml")
    wf = write(
        folder / "wf.weft.yaml",
        """
        # expect: 3:11: import: pipe.weft.yaml: is not a regular file (it is a named pipe)
        weft: 1
        imports: [pipe.weft.yaml]
        nodes: [{id: a, command: [ls]}]
    """,
    )
    refused_as_expected(wf, home)


def test_an_import_over_the_size_limit_is_refused_before_it_is_read(folder: Path, home: Path) -> None:
    with open(folder / "big.weft.yaml", "wb") as f:
        f.truncate(MAX_LIBRARY_BYTES + 1)  # sparse: costs no disk, reads as zero bytes
    wf = write(
        folder / "wf.weft.yaml",
        """
        # expect: 3:11: import: big.weft.yaml: is too large (4,194,305 bytes; a Weft file may be at most 4 MiB)
        weft: 1
        imports: [big.weft.yaml]
        nodes: [{id: a, command: [ls]}]
    """,
    )
    refused_as_expected(wf, home)


def test_a_symlink_in_the_folder_pointing_out_is_followed_and_refused(folder: Path, home: Path, tmp_path: Path) -> None:
    secret = write(
        tmp_path / "elsewhere.weft.yaml",
        """
        weft: 1
        operators: {leak: {command: [echo, SECRET-do-not-print]}}
    """,
    )
    (folder / "lib.weft.yaml").symlink_to(secret)
    wf = write(
        folder / "wf.weft.yaml",
        """
        # expect: 4:11: import: lib.weft.yaml: outside the workflow's folder and the library folders
        # expect: 5:27: unknown operator 'leak'
        weft: 1
        imports: [lib.weft.yaml]
        nodes: [{id: a, operator: leak}]
    """,
    )
    stderr = refused_as_expected(wf, home)
    assert "SECRET" not in stderr


def test_a_library_may_not_import_from_outside_either(folder: Path, home: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside.weft.yaml", "weft: 1\noperators: {far: {command: [ls]}}\n")
    (folder / "libs").mkdir()
    lib = write(
        folder / "libs" / "tools.weft.yaml",
        """
        weft: 1
        imports: [../../outside.weft.yaml]
        operators: {near: {command: [ls]}}
    """,
    )
    wf = write(
        folder / "wf.weft.yaml",
        """
        weft: 1
        imports: [libs/tools.weft.yaml]
        nodes: [{id: a, operator: near}]
    """,
    )
    proc = weft("validate", str(wf), home=home, cwd=folder)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"{lib}:2:11: error: import: ../../outside.weft.yaml: outside the workflow's folder and the library "
        "folders (add its folder to $WEFT_LIBRARY_PATH to allow it)",
        "1 error",
    ]


def test_paths_that_cannot_be_resolved_are_errors_not_tracebacks(folder: Path, home: Path) -> None:
    (folder / "a").symlink_to(folder / "b")
    (folder / "b").symlink_to(folder / "a")
    wf = write(
        folder / "wf.weft.yaml",
        """
        # expect: 5:11: import: a: cannot read: Too many levels of symbolic links
        # expect: 5:14: import: wf.weft.yaml/lib: cannot read: Not a directory
        # expect: 5:32: cannot read: File name too long
        weft: 1
        imports: [a, wf.weft.yaml/lib, LONG]
        nodes:
          - {id: n, command: [ls], workdir: a}
          - {id: m, command: [ls], workdir: wf.weft.yaml/sub}
    """.replace("LONG", "x" * 5000),
    )
    stderr = refused_as_expected(wf, home)
    assert "Traceback" not in stderr


def test_weft_library_path_adds_a_library_folder(folder: Path, home: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    write(shared / "ops.weft.yaml", "weft: 1\noperators: {far: {command: [ls]}}\n")
    wf = write(
        folder / "wf.weft.yaml",
        """
        weft: 1
        imports: [../shared/ops.weft.yaml]
        nodes: [{id: a, operator: far}]
    """,
    )
    assert weft("validate", str(wf), home=home, cwd=folder).returncode == 2
    proc = weft("validate", str(wf), home=home, cwd=folder, WEFT_LIBRARY_PATH=str(shared))
    assert proc.returncode == 0, proc.stderr


def test_the_shipped_library_and_the_users_library_may_be_imported_from_anywhere(folder: Path, home: Path) -> None:
    mine = home / "operators"
    mine.mkdir()
    write(mine / "tools.weft.yaml", "weft: 1\noperators: {shout: {command: [echo, HI]}}\n")
    wf = write(
        folder / "wf.weft.yaml",
        f"""
        weft: 1
        imports: [{os.path.relpath(SHIPPED_LIBRARY / "basic.weft.yaml", folder)}, {mine / "tools.weft.yaml"}]
        nodes: [{{id: a, operator: log}}, {{id: b, operator: shout}}]
    """,
    )
    proc = weft("validate", str(wf), home=home, cwd=folder)
    assert proc.returncode == 0, proc.stderr


def test_a_library_read_on_its_own_finds_its_operators() -> None:
    """The studio's palette reads library files directly: their own folder is allowed."""
    operators, _types, problems = load_library(SHIPPED_LIBRARY / "basic.weft.yaml")
    assert problems == [] and "log" in operators


def test_pyyamls_own_messages_about_an_import_are_not_passed_on(monkeypatch) -> None:
    """PyYAML's pure-Python parser names what it trips over (here an alias that is the secret);
    libyaml does not, but which one parses depends on how PyYAML was built."""
    monkeypatch.setattr(yamlsrc, "_Loader", yaml.SafeLoader)
    with pytest.raises(WorkflowInvalid) as info:
        load_file(Path(__file__).parent / "broken" / "58-import-invalid-yaml-secret.weft.yaml")
    assert [p.message for p in info.value.problems] == [
        "import: libs/secret-invalid.yaml: not a valid Weft library file (YAML syntax error at line 4, "
        "column 11; the text is not shown)"
    ]


# -- the workflow file itself ------------------------------------------------------------------


def test_a_named_pipe_as_workflow_file_is_refused_without_waiting(folder: Path, home: Path) -> None:
    os.mkfifo(folder / "pipe.weft.yaml")
    stderr = one_line_refusal(folder / "pipe.weft.yaml", home, folder)
    assert "is not a regular file (it is a named pipe)" in stderr


def test_dev_zero_as_workflow_file_is_refused_before_it_is_read(folder: Path, home: Path) -> None:
    stderr = one_line_refusal("/dev/zero", home, folder)
    assert stderr == "weft: error: /dev/zero: is not a regular file (it is a character device)\n"


def test_a_huge_workflow_file_is_refused_with_the_limit(folder: Path, home: Path) -> None:
    with open(folder / "huge.weft.yaml", "wb") as f:
        f.truncate(MAX_WORKFLOW_BYTES + 1)
    stderr = one_line_refusal(folder / "huge.weft.yaml", home, folder)
    assert "is too large (16,777,217 bytes; a Weft file may be at most 16 MiB)" in stderr


def test_a_folder_as_workflow_file_is_refused(folder: Path, home: Path) -> None:
    assert "is a folder, not a file" in one_line_refusal(folder, home, folder)


# -- YAML nesting without libyaml ---------------------------------------------------------------


def test_deep_yaml_through_the_pure_python_parser_is_a_problem_not_a_recursion_error(monkeypatch) -> None:
    """libyaml stops at 1,000 levels itself; PyYAML's own parser does not stop at all."""
    monkeypatch.setattr(yamlsrc, "_Loader", yaml.SafeLoader)
    problems = ProblemCollector()
    yamlsrc.parse_yaml("x: " + "[" * 10_000 + "]" * 10_000, "deep.yaml", problems)
    assert [str(p) for p in problems.problems] == [
        f"deep.yaml:1:{4 + yamlsrc.MAX_DEPTH - 1}: nested more than {yamlsrc.MAX_DEPTH} levels deep"
    ]


def test_a_library_is_named_by_its_name_and_an_unknown_one_is_an_error(weft, tmp_path) -> None:
    good = tmp_path / "g.weft.yaml"
    good.write_text("weft: 1\nname: g\nimports: [weft:basic]\nnodes:\n  - {id: s, operator: sleep}\n")
    assert weft("validate", str(good)).code == 0
    for name, reason in (
        ("nowhere:basic", "no library named 'nowhere' (libraries: weft, my"),
        ("weft:missing", "weft:missing"),
    ):
        bad = tmp_path / "b.weft.yaml"
        bad.write_text(f"weft: 1\nname: b\nimports: ['{name}']\nnodes: []\n")
        result = weft("validate", str(bad))
        assert result.code == 2 and reason in result.err and f"{bad}:3:" in result.err, result.err
