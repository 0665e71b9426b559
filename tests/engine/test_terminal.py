"""On a terminal, `weft run` shows live progress on one rewritten line, and nothing a task or a
workflow file says can send the terminal a control sequence."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path


def test_live_progress_line_on_a_terminal(home: Path, tmp_path: Path):
    wf = tmp_path / "slow.weft.yaml"
    wf.write_text(
        "weft: 1\nname: slowish\nnodes:\n"
        "  - {id: a, command: [python3, -c, 'import time; time.sleep(0.6)']}\n"
        "  - {id: b, command: [python3, -c, 'import time; time.sleep(0.6)']}\n"
        "edges:\n  - {from: a, to: b}\n"
    )
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), "run", str(wf)],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the run is over
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    text = seen.decode()
    assert proc.returncode == 0
    assert "slowish [0/2]" in text and "running: a" in text and "running: b" in text
    assert "\r" in text  # one line, rewritten in place
    assert out.startswith("run r-") and "succeeded" in out  # the summary goes to stdout


# -- control characters from tasks never reach the terminal raw ---------------------------------

#: A window title (OSC 0), a clipboard write (OSC 52), a screen clear, and a carriage return
#: that would draw over the start of the line.
HOSTILE = "\x1b]0;pwned\x07 \x1b]52;c;cHduZWQ=\x07 \x1b[2J \x9b31m \x7f \r over"
#: The same in a plain output line (the engine reads a lone carriage return as a line's end).
HOSTILE_LINE = HOSTILE.split("\r")[0]
SHOUT = """
import json, sys
sys.stdin.readline()
h, line = HOSTILE, HOSTILE_LINE
print("plain " + line)
sys.stderr.write("stderr " + line + "\\n")
print(json.dumps({"weft": 1, "type": "log", "level": "warning", "message": "structured " + h}))
print(json.dumps({"weft": 1, "type": "output", "name": "o", "value": "out " + h}))
"""
#: A dynamic task whose mutation is refused for a key made of escape sequences: the refusal
#: (the node's reason) quotes the key.
PLAN = """
import json, sys
sys.stdin.readline()
print(json.dumps({"weft": 1, "type": "add_node", "node": {"id": "x", "command": ["ls"], HOSTILE: 1}}))
"""


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _hostile_workflow(tmp_path: Path) -> Path:
    (tmp_path / "shout.py").write_text(
        SHOUT.replace("HOSTILE_LINE", repr(HOSTILE_LINE)).replace("HOSTILE", repr(HOSTILE))
    )
    (tmp_path / "plan.py").write_text(PLAN.replace("HOSTILE", repr(HOSTILE)))
    wf = tmp_path / "hostile.weft.yaml"
    name = HOSTILE.encode("unicode_escape").decode().replace('"', '\\"')
    wf.write_text(
        f'weft: 1\nname: "evil {name}"\nnodes:\n'
        "  - {id: shout, command: [python3, shout.py], outputs: {o: str}}\n"
        "  - {id: plan, command: [python3, plan.py], dynamic: true}\n"
    )
    return wf


def _assert_printable(text: str) -> None:
    raw = [c for c in ("\x1b", "\x07", "\x9b", "\x7f", "\r") if c in text]
    assert not raw, f"raw control characters {raw!r} in:\n{text!r}"


def test_task_text_is_shown_escaped_by_run_logs_show_and_runs(home: Path, tmp_path: Path) -> None:
    wf = _hostile_workflow(tmp_path)
    run = _cli(home, "run", str(wf), "--logs")
    assert run.returncode == 1, run.stderr  # plan's mutation is refused: it fails
    run_id = run.stdout.split()[1]
    for proc in (
        run,
        _cli(home, "logs", run_id),
        _cli(home, "logs", run_id, "shout"),
        _cli(home, "show", run_id),
        _cli(home, "runs"),
    ):
        _assert_printable(proc.stdout + proc.stderr)
    logs = _cli(home, "logs", run_id).stdout
    escaped = "\\x1b]0;pwned\\x07 \\x1b]52;c;cHduZWQ=\\x07 \\x1b[2J \\x9b31m \\x7f "
    assert f"[shout] plain {escaped}\n" in logs
    assert f"[shout] warning: structured {escaped}\\r over" in logs
    assert "[shout] stderr \\x1b]0;pwned" in logs
    show = _cli(home, "show", run_id).stdout
    assert "shout.o = out \\x1b]0;pwned\\x07" in show
    assert "unknown key '\\x1b]0;pwned\\x07" in show  # plan's reason quotes the refused key
    assert "evil \\x1b]0;pwned" in _cli(home, "runs").stdout


def test_json_output_keeps_task_text_exactly(home: Path, tmp_path: Path) -> None:
    wf = _hostile_workflow(tmp_path)
    run_id = json.loads(_cli(home, "run", str(wf), "--json").stdout)["run"]
    logs = [json.loads(line) for line in _cli(home, "logs", run_id, "--json").stdout.splitlines()]
    assert {"plain " + HOSTILE_LINE, "stderr " + HOSTILE_LINE, "structured " + HOSTILE} <= {x["message"] for x in logs}
    show = json.loads(_cli(home, "show", run_id, "--json").stdout)
    assert show["outputs"]["shout"]["o"] == "out " + HOSTILE
    assert HOSTILE in next(n["reason"] for n in show["nodes"] if n["id"] == "plan")
    assert json.loads(_cli(home, "runs", "--json").stdout)[0]["workflow"] == "evil " + HOSTILE


def test_the_progress_line_shows_a_hostile_workflow_name_escaped(home: Path, tmp_path: Path) -> None:
    wf = tmp_path / "slow.weft.yaml"
    wf.write_text(
        'weft: 1\nname: "slow \\e]0;pwned\\a \\e[2J"\nnodes:\n'
        "  - {id: a, command: [python3, -c, 'import time; time.sleep(0.6)']}\n"
    )
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), "run", str(wf)],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    assert b"slow \\x1b]0;pwned\\x07 \\x1b[2J [" in seen
    assert b"\x1b" not in seen and b"\x07" not in seen
