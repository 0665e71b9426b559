"""On a terminal, `weft run` shows live progress on one rewritten line."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path


def test_live_progress_line_on_a_terminal(home: Path, tmp_path: Path):
    wf = tmp_path / "slow.weft.yaml"
    wf.write_text("weft: 1\nname: slowish\nnodes:\n"
                  "  - {id: a, command: [python3, -c, 'import time; time.sleep(0.6)']}\n"
                  "  - {id: b, command: [python3, -c, 'import time; time.sleep(0.6)']}\n"
                  "edges:\n  - {from: a, to: b}\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "--home", str(home), "run", str(wf)],
                            stdout=subprocess.PIPE, stderr=follower, text=True)
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
