"""Peak memory of `weft run` while a task floods its stdout: it must stay bounded.

  trivial     one node running /bin/true (the baseline: what the engine needs anyway)
  lines       one task writing --mib MiB of 100-byte lines to stdout
  redraws     one task redrawing a progress bar with carriage returns, --mib MiB, no newline

Each is `weft run` as a subprocess; its peak resident set (VmHWM) is read from /proc while it
runs, so only the engine is measured, not the task. Reports MiB and the growth over trivial.
Target: growth <= 100 MiB for a 200 MiB flood. Usage: python bench/flood.py [--mib N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import TRUE, cli_cmd, header, table, verdict, write

FLOOD = """
import sys
mib, mode = int(sys.argv[1]), sys.argv[2]
line = "x" * 99 + ("\\n" if mode == "lines" else "\\r")
chunk = line * 10000
out = sys.stdout
for _ in range(mib * 1024 * 1024 // len(chunk)):
    out.write(chunk)
out.write("\\n")
out.flush()
"""


def peak_of(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit code) of a command, read from /proc as it runs."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    if proc.returncode != 0:
        print(proc.stderr.read().decode()[-2000:] if proc.stderr else "", file=sys.stderr)
    return peak / 1024, time.perf_counter() - start, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=200)
    args = ap.parse_args()
    header(f"flood: peak memory of `weft run` while one task writes {args.mib} MiB to stdout")
    rows = []
    with tempfile.TemporaryDirectory(prefix="weft-bench-flood-") as tmp_name:
        tmp = Path(tmp_name)
        write(tmp / "flood.py", FLOOD)
        flood = "weft: 1\nname: {mode}\nnodes:\n  - {{id: f, command: [python3, flood.py, '{mib}', {mode}]}}\n"
        cases = {
            "trivial": f"weft: 1\nname: trivial\nnodes:\n  - {{id: t, command: [{TRUE}]}}\n",
            "lines": flood.format(mode="lines", mib=args.mib),
            "redraws": flood.format(mode="redraws", mib=args.mib),
        }
        peaks, codes = {}, {}
        for name, text in cases.items():
            wf = write(tmp / f"{name}.weft.yaml", text)
            peak, wall, code = peak_of(cli_cmd(tmp / f"home-{name}", wf), tmp)
            peaks[name], codes[name] = peak, code
            rows.append((name, f"{peak:.1f}", f"{peak - peaks['trivial']:.1f}", f"{wall:.1f}", code))
    print()
    table(["case", "peak RSS MiB", "growth MiB", "wall s", "exit"], rows)
    worst = max(peaks["lines"], peaks["redraws"]) - peaks["trivial"]
    print(f"\nworst growth over trivial: {worst:.1f} MiB ({verdict(worst, 100)})")
    failed = [name for name, code in codes.items() if code != 0]
    print("every run succeeded" if not failed else f"MISSES: {', '.join(failed)} did not succeed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
