"""Runs one step of a workflow that ``weft import`` made from an Argo Workflow.

Argo hands a step its values by rewriting the step's text (``{{inputs.parameters.x}}``) and
collects what it leaves in files; Weft hands a task its values on stdin and takes outputs as
messages. This program sits between the two, inside the task (``python3 -m weft_step``):

- ``weft_step -- ARGV...``: the argv after ``--`` is run as a program (never through a shell
  we add). ``{{inputs.parameters.NAME}}`` in an argument becomes the value of input NAME; every
  input is also in the environment as ``WEFT_ARGO_<NAME>`` (upper case, ``-`` as ``_``): the
  importer writes ``${WEFT_ARGO_NAME}`` into shell scripts, so no value is ever shell text.
  Then: stdout becomes the output ``result`` when asked for, files at the paths the step names
  become its output parameters and artifacts, input artifacts are copied to their paths first.
  ``params.argo.env`` names more variables set from inputs (an Elyra node's pipeline parameters).
- ``weft_step --arguments``: the workflow's arguments: each input given to the run, else its
  default from Argo's ``arguments``.
- ``weft_step --ask``: a suspend step whose outputs a person supplies.
- ``weft_step --sleep SECONDS``: a suspend step with a duration.
- ``weft_step --fan-out``: ``withParam``: one node per item of an input list, joined again.

Standard library only; Python 3.8+, like weft_task.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

_REF = re.compile(r"\{\{inputs\.parameters\.([A-Za-z0-9_-]+)\}\}")


def _send(message):
    message = dict(message)
    message["weft"] = 1
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _text(value):
    return value if isinstance(value, str) else json.dumps(value)


def _value(text):
    """Argo values are text; a text that is exactly a JSON number, list or object is that
    value, so a condition can compare it as Argo's expressions do (``> 5``)."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        return text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if json.dumps(value) == stripped else text
    if isinstance(value, (list, dict)):
        return value
    return text


def env_name(name):
    return "WEFT_ARGO_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _in_workspace(workspace, *parts):
    path = os.path.join(workspace, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def run_step(start, argo, argv):
    inputs = dict(start.get("inputs") or {})
    values = inputs  # by input port: the names the importer wrote into the argv
    for name, path in argo.get("artifacts_in", {}).items():
        source = values.get(name)
        if source is None:
            continue
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        (shutil.copytree if os.path.isdir(source) else shutil.copyfile)(source, path)
    for path, data in argo.get("raw_in", {}).values():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as handle:
            handle.write(data)

    def fill(match):
        name = match.group(1)
        return _text(values[name]) if name in values else match.group(0)

    fills = set(argo.get("fill", ()))  # only the arguments the importer marked: never a script's text
    argv = [_REF.sub(fill, arg) if index in fills else arg for index, arg in enumerate(argv)]
    env = dict(os.environ)
    for name, value in values.items():
        env[env_name(name)] = "" if value is None else _text(value)
    for var, port in argo.get("env", {}).items():  # an Elyra node reads its pipeline parameters so
        value = values.get(port)
        env[var] = "" if value is None else _text(value)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    lines = []
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace")
        lines.append(line)
        if line.lstrip().startswith("{") and '"weft"' in line:  # the step's text, not a message to Weft
            line = "stdout: " + line
        sys.stdout.write(line)
        sys.stdout.flush()
    if lines and not lines[-1].endswith("\n"):
        sys.stdout.write("\n")  # so the messages that follow start a line of their own
    code = proc.wait()
    if code != 0:
        return code
    if argo.get("result"):
        _send({"type": "output", "name": "result", "value": _value("".join(lines).strip())})
    workspace = start.get("workspace") or os.environ.get("WEFT_WORKSPACE", ".")
    for port, spec in argo.get("outputs", {}).items():
        try:
            with open(spec["path"], encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            if "default" not in spec:
                sys.stderr.write("output parameter %s: no file at %s\n" % (port, spec["path"]))
                return 1
            text = spec["default"]
        _send({"type": "output", "name": port, "value": _value(text)})
    for port, path in argo.get("artifacts_out", {}).items():
        if not os.path.exists(path):
            sys.stderr.write("output artifact %s: nothing at %s\n" % (port, path))
            return 1
        target = _in_workspace(workspace, "argo", start.get("node", "node").replace("/", "_"), port)
        if os.path.isdir(path):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(path, target)
        else:
            shutil.copyfile(path, target)
        _send({"type": "output", "name": port, "value": target})
    return 0


def arguments(start, argo):
    given = start.get("inputs") or {}
    for port, default in argo.get("defaults", {}).items():
        value = given.get(port)
        _send({"type": "output", "name": port, "value": _value(_text(default if value is None else value))})
    return 0


def ask(start, argo):
    fields = {port: "str" for port in argo.get("fields", [])}
    _send({"type": "ask", "prompt": argo.get("prompt", "Resume?"), "fields": fields})
    return 0


def fan_out(start, argo):
    """withParam: one node per item, wired from this node and into the join, in one change
    together with the shape promise that says so."""
    items = (start.get("inputs") or {}).get("items")
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            sys.stderr.write("withParam: the value is not a JSON list\n")
            return 1
    if not isinstance(items, list):
        sys.stderr.write("withParam: the value is not a JSON list\n")
        return 1
    me, join, template = start["node"].split("/")[-1], argo["join"], argo["item"]
    nodes, edges = [], []
    for index, item in enumerate(items):
        text = _text(item)
        node = json.loads(json.dumps(template))
        node["id"] = "%s-item-%d" % (me, index)

        def fill(arg, text=text, item=item):
            arg = arg.replace("{{item}}", text)
            if isinstance(item, dict):
                for key, value in item.items():
                    arg = arg.replace("{{item.%s}}" % key, _text(value))
            return arg

        marked = set(argo.get("fill", ()))
        node["command"] = [fill(arg) if i in marked else arg for i, arg in enumerate(node["command"])]
        node.setdefault("env", {})["WEFT_ARGO_ITEM"] = text
        nodes.append(node)
        edges += [{"from": me, "to": node["id"]}, {"from": node["id"], "to": join}]
    shape = "%s -> '%s-item-*'* -> %s" % (me, me, join)
    _send({"type": "mutate", "nodes": nodes, "edges": edges, "promises": [{"shape": shape}]})
    return 0


def main(argv):
    start = json.loads(sys.stdin.readline() or "{}")
    argo = (start.get("params") or {}).get("argo") or {}
    if argv[:1] == ["--arguments"]:
        return arguments(start, argo)
    if argv[:1] == ["--ask"]:
        return ask(start, argo)
    if argv[:1] == ["--sleep"]:
        time.sleep(float(argv[1]))
        return 0
    if argv[:1] == ["--fan-out"]:
        return fan_out(start, argo)
    if argv[:1] == ["--"] and len(argv) > 1:
        return run_step(start, argo, argv[1:])
    sys.stderr.write("usage: weft_step -- ARGV... | --arguments | --ask | --sleep S | --fan-out\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
