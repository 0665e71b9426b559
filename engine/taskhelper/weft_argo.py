"""weft_argo: runs one Weft task inside an Argo Workflows pod.

One file, standard library only, Python 3.8+. An Argo pod gives its container no stdin, and
Argo hands values from task to task as files it collects (output parameters and artifacts),
while a Weft task speaks JSON lines over stdio (SPEC section 4). This launcher sits between:

    python3 /opt/weft/weft_argo.py --node count --run my-wf-x1 --attempt 0 \\
        --params '{"n": 3}' --input 'text="a b c"' --output counts --output-file copy \\
        -- python3 ops/count.py

It builds the start line from its arguments (each ``--input NAME=JSON`` and ``--params JSON``;
a ``--input-file NAME=PATH`` is a ``file`` value: the path where Argo put the artifact), runs
the command with that line on its stdin, passes every log line through to the pod's log, and
when the task exits 0 writes each declared output as JSON text to ``OUTPUTS/NAME`` (a ``file``
output: a copy of the file) where Argo collects it. It exits with the task's status, or 1 if
the task did what an exported workflow cannot do (change the graph, ask a person) or left out
an output it declared. The exported workflow ships this file and ``weft_task.py`` into the pod
(as Argo raw artifacts under ``/opt/weft``), so an image needs nothing but ``python3``.
This file holds no double opening brace: Argo would read one as its own variable.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

OUTPUTS = "/tmp/weft/outputs"
WORKSPACE = "/workspace"
#: messages a task may send on Argo: what they mean is only for a person reading the log
PASSING = ("log", "progress", "style")
#: messages that need the Weft engine: the graph is fixed once it is on Argo, nobody answers
REFUSED = {
    "mutate": "changes the graph",
    "add_node": "changes the graph",
    "add_edge": "changes the graph",
    "promise": "makes a promise",
    "ask": "asks a person",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="weft_argo", description="Run one Weft task in an Argo pod.")
    parser.add_argument("--node", required=True)
    parser.add_argument("--run", default="argo")
    parser.add_argument("--attempt", default="0", help="Argo's retries variable (0 on the first attempt)")
    parser.add_argument("--params", default="{}", help="the node's params, JSON")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--input-file", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--output", action="append", default=[], metavar="NAME")
    parser.add_argument("--output-file", action="append", default=[], metavar="NAME")
    parser.add_argument("--optional", action="append", default=[], metavar="NAME", help="an output it may leave out")
    parser.add_argument("--fan-out", metavar="OPERATOR", help="the operator the task may create copies of")
    parser.add_argument("--fan-out-into", metavar="NODE", help="the node every copy leads to")
    parser.add_argument("--fan-out-least", type=int, default=0, help="how many copies it must create")
    parser.add_argument("--fan-out-defaults", default="{}", help="the operator's declared param defaults, JSON")
    parser.add_argument("--outputs-dir", default=OUTPUTS)
    parser.add_argument("--workspace", default=WORKSPACE)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command to run (give it after --)")
    return args


def _pair(text, what):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise SystemExit("weft_argo: error: %s %r is not NAME=VALUE" % (what, text))
    return name, value


def start_line(args):
    inputs = {}
    for item in args.input:
        name, text = _pair(item, "--input")
        try:
            inputs[name] = json.loads(text)
        except ValueError:
            raise SystemExit("weft_argo: error: input %r is not JSON text" % name) from None
    for item in args.input_file:
        name, path = _pair(item, "--input-file")
        inputs[name] = path
    try:
        params = json.loads(args.params)
    except ValueError:
        raise SystemExit("weft_argo: error: --params is not JSON text") from None
    try:
        attempt = int(args.attempt) + 1
    except ValueError:
        attempt = 1
    start = {
        "weft": 1,
        "type": "start",
        "run": args.run,
        "node": args.node,
        "inputs": inputs,
        "params": params,
        "workspace": args.workspace,
        "attempt": attempt,
    }
    return json.dumps(start, separators=(",", ":"), ensure_ascii=False) + "\n"


def say(text):
    sys.stderr.write("weft_argo: %s\n" % text)
    sys.stderr.flush()


def message_of(line):
    """The protocol message on a stdout line, or None for a log line."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "weft" in value else None


def run(args):
    os.makedirs(args.workspace, exist_ok=True)
    os.makedirs(args.outputs_dir, exist_ok=True)
    env = dict(os.environ)
    helper = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [helper, env.get("PYTHONPATH")]))
    env["WEFT_WORKSPACE"] = args.workspace
    env["WEFT_RUN"] = args.run
    env["WEFT_NODE"] = args.node
    try:
        child = subprocess.Popen(args.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except OSError as exc:
        say("cannot start %s: %s" % (args.command[0], exc.strerror or exc))
        return 127
    try:
        child.stdin.write(start_line(args).encode("utf-8"))
        child.stdin.close()
    except BrokenPipeError:
        pass
    outputs, refused = {}, None
    fan = FanOut(args) if args.fan_out else None
    for raw in child.stdout:
        line = raw.decode("utf-8", "replace")
        message = message_of(line)
        if message is None or message.get("type") in PASSING:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
            sys.stdout.flush()
            continue
        kind = message.get("type")
        if kind == "output" and isinstance(message.get("name"), str):
            outputs[message["name"]] = message.get("value")
            continue
        if fan is not None and kind in ("mutate", "add_node", "add_edge"):
            refused = fan.take(message)
            if refused is None:
                continue
        else:
            refused = "the task %s, which a workflow exported to Argo cannot do" % REFUSED.get(kind, "sent %r" % kind)
        child.kill()
        break
    child.stdout.close()
    code = child.wait()
    if refused is not None:
        say(refused)
        return 1
    if code != 0:
        return code if code > 0 else 128 - code
    if fan is not None:
        problem = fan.finish()
        if problem is not None:
            say(problem)
            return 1
        with open(os.path.join(args.outputs_dir, FAN_OUT), "w", encoding="utf-8") as out:
            out.write(json.dumps(fan.items(), ensure_ascii=False))
    return write_outputs(args, outputs)


FAN_OUT = "weft-fan-out"
#: what a created copy may say besides its id and operator
COPY_KEYS = ("id", "operator", "params", "description", "style")


class FanOut:
    """The copies a task pinned by ``shape: "A -> M* -> B"`` creates, each checked as the shape
    promise would check it, listed for Argo's ``withParam``."""

    def __init__(self, args):
        self.me, self.operator, self.join = args.node, args.fan_out, args.fan_out_into
        self.least = args.fan_out_least
        self.defaults = json.loads(args.fan_out_defaults)
        self.copies = {}  # id -> params, in the order created
        self.wired = {}  # id -> {"from", "to"}: the edges each copy has

    def take(self, message):
        """Record one mutation; the reason it breaks the promise or cannot be exported, else None."""
        kind = message.get("type")
        nodes = message.get("nodes", []) if kind == "mutate" else [message.get("node")] if kind == "add_node" else []
        edges = message.get("edges", []) if kind == "mutate" else [message.get("edge")] if kind == "add_edge" else []
        if kind == "mutate" and message.get("promises"):
            return "the task makes a promise, which a workflow exported to Argo cannot keep"
        for node in nodes:
            if not isinstance(node, dict) or not isinstance(node.get("id"), str):
                return "the task creates a node without an id"
            if node.get("operator") != self.operator or set(node) - set(COPY_KEYS):
                return "created node %r is not a plain copy of %s, as the shape promises" % (node["id"], self.operator)
            if node["id"] in self.copies or node["id"] in (self.me, self.join):
                return "created node id %r is taken" % node["id"]
            self.copies[node["id"]] = dict(self.defaults, **(node.get("params") or {}))
            self.wired[node["id"]] = set()
        for edge in edges:
            if not isinstance(edge, dict) or set(edge) - {"from", "to", "style"}:
                return "the task creates an edge with ports or a condition, which an exported fan-out cannot carry"
            source, target = edge.get("from"), edge.get("to")
            if source == self.me and target in self.copies:
                self.wired[target].add("from")
            elif source in self.copies and target == self.join:
                self.wired[source].add("to")
            elif not (source == self.me and target == self.join):
                return "created edge %s -> %s is not between %s and %s, as the shape promises" % (
                    source, target, self.me, self.join)
        return None

    def finish(self):
        for node, ends in self.wired.items():
            if ends != {"from", "to"}:
                return "created node %r is not between %s and %s, as the shape promises" % (node, self.me, self.join)
        if len(self.copies) < self.least:
            return "the task created no %s, and the shape promises at least one" % self.operator
        return None

    def items(self):
        return [{"node": n, "params": json.dumps(p, ensure_ascii=False)} for n, p in self.copies.items()]


def write_outputs(args, outputs):
    missing = [n for n in args.output + args.output_file if n not in outputs and n not in args.optional]
    if missing:
        say("exited 0 without reporting output %s" % ", ".join(missing))
        return 1
    for name in args.output:
        with open(os.path.join(args.outputs_dir, name), "w", encoding="utf-8") as out:
            out.write(json.dumps(outputs.get(name), ensure_ascii=False))
    for name in args.output_file:
        value = outputs.get(name)
        if value is None:
            continue
        source = value if os.path.isabs(value) else os.path.join(args.workspace, value)
        real, workspace = os.path.realpath(source), os.path.realpath(args.workspace)
        if not real.startswith(workspace + os.sep) or not os.path.isfile(real):
            say("output %s: file %r is not a file in the workspace" % (name, value))
            return 1
        shutil.copyfile(real, os.path.join(args.outputs_dir, name))
    return 0


def main(argv=None):
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
