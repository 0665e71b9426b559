"""Render the pictures the docs show, with this checkout's `weft graph --format svg`.

The commands run in this process (``engine.cli.main.main``), so a picture costs no interpreter
start-up. For every example in resources/examples/*.weft.yaml:

  NAME.svg             the registration-time projection (`weft graph FILE --format svg`)

and for every example with a dynamic node, from a real run of it (`weft run`, in a temporary
WEFT_HOME that is removed afterwards), `weft graph RUN --at N --format svg` at three events:

  NAME-run-early.svg   the first dynamic node has just started: nothing created yet, its ghost
  NAME-run-grown.svg   the last node or edge a task created has been added (its creator may
                       still be running, so a ghost may remain)
  NAME-run-final.svg   the run's last event

A moment that looks exactly like the next one is left out (e.g. "grown" when the run ended
right after its last mutation). The run id in a picture is replaced by "NAME run", so pictures
change only when the graph or its drawing does (or an example chooses at random). Every other
*.svg in the output folder is removed: it holds exactly these pictures. Needs GraphViz's `dot`.

Usage: python docs/images/make.py [--out DIR] [--examples DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
OUT = Path(__file__).resolve().parent
SUFFIX = ".weft.yaml"

sys.path.insert(0, str(ROOT))  # this checkout's engine, whatever is installed

from engine.cli import main as cli  # noqa: E402 - after the sys.path line above
from engine.events import GraphChanged, NodeState, NodeStateChanged, RunStarted  # noqa: E402 - after the sys.path line above
from engine.history.store import Store  # noqa: E402 - after the sys.path line above
from engine.workflow.loader import load_file  # noqa: E402 - after the sys.path line above


def weft(home: Path, *args: str) -> str:
    """`weft --home HOME ARGS...`, in this process (the same code as the command); its stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--home", str(home), *args])
    if code not in (0, 1, 3):  # a failed or broken run is still worth a picture
        raise SystemExit(f"weft {' '.join(args)} exited {code}: {err.getvalue().strip()}")
    return out.getvalue()


def svg(home: Path, target: str, out: Path, at: int | None = None, rename: tuple[str, str] | None = None) -> Path:
    args = ["graph", target, "--format", "svg", "-o", str(out)] + (["--at", str(at)] if at is not None else [])
    weft(home, *args)
    if rename:  # as written, and as GraphViz escapes it in titles and comments
        old, new = rename
        text = out.read_text(encoding="utf-8").replace(old, new).replace(old.replace("-", "&#45;"), new)
        out.write_text(text, encoding="utf-8")
    print(f"  {out.name}")
    return out


def run_events(home: Path, run_id: str) -> dict[str, int]:
    """Event numbers worth a picture: early, grown and final (see the module docstring)."""
    store = Store(home)
    try:
        dynamic: set[str] = set()
        early = grown = None
        last = store.run(run_id)["last_seq"]
        for rec in store.events(run_id, (RunStarted, GraphChanged, NodeStateChanged)):
            event = rec.event
            if isinstance(event, (RunStarted, GraphChanged)):
                dynamic.update(n.id for n in event.nodes if n.dynamic)
                if isinstance(event, GraphChanged) and (event.nodes or event.edges):
                    grown = rec.seq
            elif isinstance(event, NodeStateChanged):
                if event.node in dynamic and event.state is NodeState.RUNNING and early is None:
                    early = rec.seq
    finally:
        store.close()
    events = {"final": last}
    if early is not None:
        events["early"] = early
    if grown is not None:
        events["grown"] = grown
    return events


def make(examples: Path, out: Path) -> list[Path]:
    if shutil.which("dot") is None:
        raise SystemExit("GraphViz's `dot` is not on PATH: install GraphViz to render the pictures")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="weft-docs-images-") as tmp:
        home = Path(tmp)
        for path in sorted(examples.glob(f"*{SUFFIX}")):
            name = path.name[: -len(SUFFIX)]
            print(name)
            written.append(svg(home, str(path), out / f"{name}.svg"))
            loaded = load_file(path)
            if not any(node.dynamic for node in loaded.nodes.values()):
                continue
            run_id = json.loads(weft(home, "run", str(path), "--json").strip().splitlines()[-1])["run"]
            previous = None
            for moment, seq in sorted(run_events(home, run_id).items(), key=lambda item: item[1]):
                picture = svg(home, run_id, out / f"{name}-run-{moment}.svg", at=seq, rename=(run_id, f"{name} run"))
                text = picture.read_text(encoding="utf-8")
                if previous is not None and text == previous[1]:  # nothing changed since: keep the later one
                    written.remove(previous[0])
                    previous[0].unlink()
                written.append(picture)
                previous = (picture, text)
    for stale in set(out.glob("*.svg")) - set(written):  # an example removed or renamed, a moment gone
        stale.unlink()
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT, help=f"folder for the pictures (default: {OUT})")
    ap.add_argument("--examples", type=Path, default=EXAMPLES, help="folder of *.weft.yaml examples")
    args = ap.parse_args()
    written = make(args.examples, args.out)
    print(f"{len(written)} pictures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
