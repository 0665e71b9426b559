"""The task helper (engine/taskhelper/weft_task.py), exercised the way tasks use it.

Every test runs a small task script as a real subprocess with the helper on PYTHONPATH, feeds
it a start line on stdin (or WEFT_TASK_START) and parses what it writes to stdout.
"""

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HELPER_DIR = Path(__file__).parents[2] / "engine" / "taskhelper"
HELPER_FILE = HELPER_DIR / "weft_task.py"
NO_START = "weft_task: no start message on stdin (run this through weft)"


def start_message(workspace, **overrides):
    start = {
        "weft": 1,
        "type": "start",
        "run": "r-0001",
        "node": "count",
        "inputs": {"text": "a b c", "n": 3},
        "params": {"mode": "fast", "nested": {"k": [1, 2]}},
        "workspace": str(workspace),
        "attempt": 2,
    }
    start.update(overrides)
    return start


class TaskResult:
    def __init__(self, completed):
        self.returncode = completed.returncode
        self.stdout = completed.stdout.decode("utf-8")
        self.stderr = completed.stderr.decode("utf-8", "replace")
        self.lines = self.stdout.splitlines()
        self.messages = []
        self.plain = []
        for line in self.lines:
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and "weft" in obj:
                self.messages.append(obj)
            else:
                self.plain.append(line)

    def of_type(self, kind):
        return [m for m in self.messages if m["type"] == kind]

    def outputs(self):
        return {m["name"]: m["value"] for m in self.of_type("output")}


def task_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("WEFT_TASK_START", "WEFT_WORKSPACE")}
    env["PYTHONPATH"] = str(HELPER_DIR)
    env.update(extra or {})
    return env


def run_task(tmp_path, body, start=None, stdin=None, env=None, python=None, check=True):
    """Run ``body`` as a task script; ``start`` is sent as the stdin line unless ``stdin`` is given."""
    script = tmp_path / "task_script.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    if stdin is None:
        if start is None:
            start = start_message(tmp_path / "ws")
        stdin = (json.dumps(start, ensure_ascii=False) + "\n").encode("utf-8")
    completed = subprocess.run(
        [python or sys.executable, str(script)],
        input=stdin,
        capture_output=True,
        env=task_env(env),
        cwd=str(tmp_path),
        timeout=60,
    )
    result = TaskResult(completed)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


# -- the start message -----------------------------------------------------------------------


def test_module_attributes_come_from_the_start_message(tmp_path, workspace):
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        from weft_task import inputs
        weft.output("seen", {
            "inputs": weft.inputs, "params": weft.params, "node": weft.node, "run": weft.run,
            "workspace": weft.workspace, "attempt": weft.attempt, "start": weft.start,
            "same_object": inputs is weft.inputs,
            "in_dir": all(n in dir(weft) for n in ("inputs", "params", "output", "path")),
        })
        """,
        start=start_message(workspace),
    )
    seen = result.outputs()["seen"]
    assert seen["inputs"] == {"text": "a b c", "n": 3}
    assert seen["params"] == {"mode": "fast", "nested": {"k": [1, 2]}}
    assert seen["node"] == "count"
    assert seen["run"] == "r-0001"
    assert seen["workspace"] == str(workspace)
    assert seen["attempt"] == 2
    assert seen["start"] == start_message(workspace)
    assert seen["same_object"] is True
    assert seen["in_dir"] is True


def test_importing_does_not_read_stdin(tmp_path):
    # stdin stays open and empty: if import read it, the script would hang.
    script = tmp_path / "task_script.py"
    script.write_text(
        "import sys, weft_task\n"
        "sys.stderr.write('imported\\n')\n"
        "try:\n"
        "    weft_task.not_a_thing\n"
        "except AttributeError as exc:\n"
        "    sys.stderr.write('attr-error: %s\\n' % exc)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=task_env(),
    )
    try:
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read().decode()
        assert "imported" in err
        assert "attr-error: module 'weft_task' has no attribute 'not_a_thing'" in err
        assert proc.stdout.read() == b""
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b"\n\n",
        b"hello there\n",
        b'{"weft": 1, "type": "output"}\n',
        b"[1, 2]\n",
        b'{"type": "start"}\n',
    ],
    ids=["empty", "blank", "text", "other-message", "json-list", "no-weft-key"],
)
def test_no_start_message_on_stdin_is_a_clear_error(tmp_path, stdin):
    result = run_task(tmp_path, "import weft_task as weft\nweft.inputs\n", stdin=stdin, check=False)
    assert result.returncode != 0
    assert "RuntimeError: " + NO_START in result.stderr
    assert result.stdout == ""


def test_a_terminal_on_stdin_is_refused_instead_of_waiting(tmp_path):
    # Someone ran the script by hand: fail at once rather than wait for typing.
    script = tmp_path / "task_script.py"
    script.write_text("import weft_task as weft\nweft.inputs\n")
    leader, follower = os.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, str(script)],
            stdin=follower,
            capture_output=True,
            env=task_env(),
            timeout=30,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert completed.returncode != 0
    assert NO_START in completed.stderr.decode()


def test_module_functions_also_need_a_start_message(tmp_path):
    body = "import weft_task as weft\nweft.output('x', 1)\n"
    result = run_task(tmp_path, body, stdin=b"", check=False)
    assert result.returncode != 0
    assert NO_START in result.stderr
    assert result.stdout == ""


def test_wrong_protocol_version_is_refused(tmp_path, workspace):
    result = run_task(
        tmp_path,
        "import weft_task as weft\nweft.inputs\n",
        start=start_message(workspace, weft=2),
        check=False,
    )
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert "protocol version 2" in result.stderr


def test_start_line_is_read_as_utf8_whatever_the_locale(tmp_path, workspace):
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        weft.output("text", weft.inputs["text"] + " ✓")
        """,
        start=start_message(workspace, inputs={"text": "héllo wörld"}),
        env={"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"},
    )
    assert result.outputs() == {"text": "héllo wörld ✓"}
    assert result.stdout.isascii()


def test_weft_task_start_env_var_replaces_stdin(tmp_path, workspace):
    start = {"inputs": {"text": "by hand"}, "params": {"p": 1}, "workspace": str(workspace)}
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        weft.output("seen", [
            weft.inputs, weft.params, weft.node, weft.attempt, weft.workspace, weft.start,
        ])
        """,
        stdin=b"",
        env={"WEFT_TASK_START": json.dumps(start)},
    )
    assert result.outputs()["seen"] == [{"text": "by hand"}, {"p": 1}, "", 1, str(workspace), start]


def test_weft_task_start_minimal_defaults(tmp_path):
    result = run_task(
        tmp_path,
        """
        import os, weft_task as weft
        weft.output("seen", [weft.inputs, weft.params, weft.attempt, weft.workspace == os.getcwd()])
        """,
        stdin=b"",
        env={"WEFT_TASK_START": "{}"},
    )
    assert result.outputs()["seen"] == [{}, {}, 1, True]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("not json", "WEFT_TASK_START is not valid JSON"),
        ("[1]", "WEFT_TASK_START must be a JSON object"),
        ('{"type": "output"}', "expected a 'start' message"),
        ('{"inputs": 3}', "'inputs' must be an object"),
    ],
)
def test_weft_task_start_errors(tmp_path, text, expected):
    result = run_task(
        tmp_path,
        "import weft_task as weft\nweft.inputs\n",
        stdin=b"",
        env={"WEFT_TASK_START": text},
        check=False,
    )
    assert result.returncode != 0
    assert "RuntimeError: weft_task: " in result.stderr
    assert expected in result.stderr


# -- messages --------------------------------------------------------------------------------


def test_every_message_kind(tmp_path, workspace):
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        weft.output("counts", {"total": 3, "words": ["a", "b"]})
        weft.output("nothing", None)
        weft.progress(0.25)
        weft.progress(done=3, total=12, message="three of twelve")
        weft.progress(1, done=12, total=12)
        weft.progress(done=7)
        weft.log("hello")
        weft.log("careful", level="warning")
        weft.log(42, "debug")
        weft.log(["x"], level="ERROR")
        weft.add_node({"id": "m-3", "operator": "square", "params": {"x": 3}})
        weft.add_edge({"from": "plan", "to": "m-3"})
        weft.add_edge({"from": "a.out", "to": "b.in", "when": "a.out > 1"})
        weft.promise({"max_nodes": {"max": 4}})
        weft.mutate(
            nodes=({"id": "m-%d" % i, "operator": "square"} for i in range(2)),
            edges=[{"from": "plan", "to": "m-0"}],
            promises=[{"shape": "plan -> M* -> join", "where": {"M": "square"}}],
        )
        weft.mutate(promises=[{"no_new_nodes": {}}])
        weft.style(node="count", color="#3b7", label="Count words")
        weft.style(edge={"from": "plan", "to": "m-0"}, color="red")
        """,
        start=start_message(workspace),
    )
    assert result.plain == []
    assert all(m["weft"] == 1 for m in result.messages)
    # Compact, one object per line, with the protocol key first.
    for line in result.lines:
        assert line.startswith('{"weft":1,"type":"')
        assert ", " not in line and '": ' not in line
    assert [m["type"] for m in result.messages] == [
        "output",
        "output",
        "progress",
        "progress",
        "progress",
        "progress",
        "log",
        "log",
        "log",
        "log",
        "add_node",
        "add_edge",
        "add_edge",
        "promise",
        "mutate",
        "mutate",
        "style",
        "style",
    ]
    assert result.outputs() == {"counts": {"total": 3, "words": ["a", "b"]}, "nothing": None}
    assert result.of_type("progress") == [
        {"weft": 1, "type": "progress", "fraction": 0.25},
        {"weft": 1, "type": "progress", "done": 3, "total": 12, "message": "three of twelve"},
        {"weft": 1, "type": "progress", "fraction": 1, "done": 12, "total": 12},
        {"weft": 1, "type": "progress", "done": 7},
    ]
    assert [(m["level"], m["message"]) for m in result.of_type("log")] == [
        ("info", "hello"),
        ("warning", "careful"),
        ("debug", "42"),
        ("error", "['x']"),
    ]
    assert result.of_type("add_node") == [
        {"weft": 1, "type": "add_node", "node": {"id": "m-3", "operator": "square", "params": {"x": 3}}}
    ]
    assert [m["edge"] for m in result.of_type("add_edge")] == [
        {"from": "plan", "to": "m-3"},
        {"from": "a.out", "to": "b.in", "when": "a.out > 1"},
    ]
    assert result.of_type("promise") == [{"weft": 1, "type": "promise", "promise": {"max_nodes": {"max": 4}}}]
    assert result.of_type("mutate") == [
        {
            "weft": 1,
            "type": "mutate",
            "nodes": [{"id": "m-0", "operator": "square"}, {"id": "m-1", "operator": "square"}],
            "edges": [{"from": "plan", "to": "m-0"}],
            "promises": [{"shape": "plan -> M* -> join", "where": {"M": "square"}}],
        },
        {"weft": 1, "type": "mutate", "nodes": [], "edges": [], "promises": [{"no_new_nodes": {}}]},
    ]
    assert result.of_type("style") == [
        {
            "weft": 1,
            "type": "style",
            "node": "count",
            "style": {"color": "#3b7", "label": "Count words"},
        },
        {"weft": 1, "type": "style", "edge": {"from": "plan", "to": "m-0"}, "style": {"color": "red"}},
    ]


def test_plain_prints_stay_in_order_with_messages(tmp_path):
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        print("before")
        weft.log("middle")
        print("after")
        """,
    )
    assert result.lines[0] == "before"
    assert json.loads(result.lines[1])["message"] == "middle"
    assert result.lines[2] == "after"
    assert result.plain == ["before", "after"]


def test_messages_are_flushed_immediately(tmp_path, workspace):
    # The task reports progress and then waits: the engine must see the line before it ends.
    gate = tmp_path / "gate"
    script = tmp_path / "task_script.py"
    script.write_text(
        textwrap.dedent(
            """
        import os, sys, time, weft_task as weft
        weft.progress(0.5, message="half")
        deadline = time.time() + 30
        while not os.path.exists(sys.argv[1]) and time.time() < deadline:
            time.sleep(0.01)
        weft.output("done", True)
        """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(gate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=task_env(),
    )
    try:
        proc.stdin.write((json.dumps(start_message(workspace)) + "\n").encode())
        proc.stdin.close()
        first = json.loads(proc.stdout.readline())
        assert first == {"weft": 1, "type": "progress", "fraction": 0.5, "message": "half"}
        assert proc.poll() is None  # still running: the line arrived live
        gate.touch()
        second = json.loads(proc.stdout.readline())
        assert second["type"] == "output"
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def test_threads_never_interleave_lines(tmp_path):
    result = run_task(
        tmp_path,
        """
        import threading, weft_task as weft
        weft.inputs  # read the start message once, before the threads
        def work(t):
            for i in range(300):
                weft.progress(i / 300, done=i, total=300, message="thread %d " % t + "x" * 200)
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads: th.start()
        for th in threads: th.join()
        """,
    )
    assert result.plain == []
    assert len(result.of_type("progress")) == 8 * 300


def test_lazy_start_is_read_once_even_from_threads(tmp_path):
    result = run_task(
        tmp_path,
        """
        import threading, weft_task as weft
        seen = []
        def first_use():
            seen.append(id(weft.default_task()))
        threads = [threading.Thread(target=first_use) for _ in range(16)]
        for th in threads: th.start()
        for th in threads: th.join()
        weft.output("distinct", len(set(seen)))
        """,
    )
    assert result.outputs() == {"distinct": 1}


def test_task_class_with_own_stream(tmp_path):
    result = run_task(
        tmp_path,
        """
        import io, sys, weft_task
        buffer = io.StringIO()
        start = {"weft": 1, "type": "start", "node": "n", "inputs": {"a": 1}, "workspace": "/tmp"}
        task = weft_task.Task(start, buffer)
        task.output("x", task.inputs["a"] + 1)
        sys.stderr.write(buffer.getvalue())
        repr(task)
        line = '{"weft": 1, "type": "start", "node": "m"}\\n'
        from_stream = weft_task.Task.from_stdin(io.StringIO(line))
        weft_task.output("node", from_stream.node)
        """,
        stdin=b"",
        env={"WEFT_TASK_START": "{}"},
    )
    assert result.stderr.strip() == '{"weft":1,"type":"output","name":"x","value":2}'
    assert result.outputs() == {"node": "m"}


# -- misuse ----------------------------------------------------------------------------------

MISUSE = [
    ("weft.progress(1.5)", "ValueError", "between 0 and 1"),
    ("weft.progress(-0.1)", "ValueError", "between 0 and 1"),
    ("weft.progress(float('nan'))", "ValueError", "between 0 and 1"),
    ("weft.progress('half')", "TypeError", "fraction must be a number"),
    ("weft.progress(True)", "TypeError", "fraction must be a number"),
    ("weft.progress()", "ValueError", "needs a fraction"),
    ("weft.progress(message='hi')", "ValueError", "needs a fraction"),
    ("weft.progress(total=3)", "ValueError", "total= needs done="),
    ("weft.progress(done=5, total=3)", "ValueError", "more than total"),
    ("weft.progress(done=-1)", "ValueError", ">= 0"),
    ("weft.log('x', level='verbose')", "ValueError", "debug, info, warning, error"),
    ("weft.output('', 1)", "ValueError", "output name must not be empty"),
    ("weft.output(3, 1)", "TypeError", "output name must be a string"),
    ("weft.output('x', float('inf'))", "ValueError", "output 'x' value cannot be sent as JSON"),
    ("weft.output('x', {1, 2})", "TypeError", "output 'x' value is not JSON-serialisable"),
    ("weft.output('x', object())", "TypeError", "not JSON-serialisable"),
    ("weft.output('x', 'y' * (17 * 1024 * 1024))", "ValueError", "16 MiB"),
    ("weft.add_node({'operator': 'square'})", "ValueError", "has no 'id'"),
    ("weft.add_node({'id': ''})", "ValueError", "must not be empty"),
    ("weft.add_node('m-3')", "TypeError", "node must be a dict"),
    ("weft.add_edge({'from': 'a'})", "ValueError", "has no 'to'"),
    ("weft.add_edge(('a', 'b'))", "TypeError", "edge must be a dict"),
    ("weft.promise({})", "ValueError", "promise is empty"),
    ("weft.promise('static')", "TypeError", "promise must be a dict"),
    ("weft.mutate(nodes={'id': 'a'})", "TypeError", "got a single dict"),
    ("weft.mutate(nodes=[{'id': 'a'}, {'operator': 'b'}])", "ValueError", "mutate nodes[1] has no 'id'"),
    ("weft.mutate(edges=[{'to': 'b'}])", "ValueError", "mutate edges[0] has no 'from'"),
    ("weft.mutate(promises=5)", "TypeError", "must be a list of dicts"),
    ("weft.style(node='a', edge={'from': 'a', 'to': 'b'}, color='red')", "ValueError", "exactly one"),
    ("weft.style(color='red')", "ValueError", "exactly one of node= or edge="),
    ("weft.style(node='a')", "ValueError", "at least one style setting"),
    ("weft.style(edge=3, color='red')", "TypeError", "style edge must be an edge dict"),
]


@pytest.mark.parametrize("code, exc_type, text", MISUSE, ids=[m[0][:60] for m in MISUSE])
def test_misuse_raises_clearly_and_writes_nothing(tmp_path, code, exc_type, text):
    result = run_task(
        tmp_path,
        """
        import sys, weft_task as weft
        weft.inputs
        try:
            %s
        except Exception as exc:
            sys.stderr.write("%%s|%%s\\n" %% (type(exc).__name__, exc))
        else:
            sys.stderr.write("no error\\n")
        """
        % code,
    )
    kind, _, message = result.stderr.strip().partition("|")
    assert kind == exc_type, result.stderr
    assert text in message
    assert message.startswith("weft_task: ")
    assert result.stdout == ""


# -- workspace paths -------------------------------------------------------------------------

PATH_SCRIPT = """
import sys, weft_task as weft
for candidate in sys.argv[1:]:
    try:
        weft.output(candidate, ["ok", weft.path(candidate)])
    except ValueError as exc:
        weft.output(candidate, ["refused", str(exc)])
"""


def run_paths(tmp_path, workspace, *candidates):
    script = tmp_path / "paths.py"
    script.write_text(PATH_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script), *candidates],
        input=(json.dumps(start_message(workspace)) + "\n").encode(),
        capture_output=True,
        env=task_env(),
        cwd=str(tmp_path),
        timeout=60,
    )
    result = TaskResult(completed)
    assert result.returncode == 0, result.stderr
    return result.outputs()


def test_path_inside_the_workspace(tmp_path, workspace):
    (workspace / "sub").mkdir()
    (workspace / "inner-link").symlink_to(workspace / "sub")
    inside_abs = str(workspace / "sub" / "f.txt")
    seen = run_paths(
        tmp_path,
        workspace,
        "out.txt",
        "sub/../a.txt",
        "sub/new/deep.bin",
        ".",
        inside_abs,
        "inner-link/x",
    )
    assert seen["out.txt"] == ["ok", str(workspace / "out.txt")]
    assert seen["sub/../a.txt"] == ["ok", str(workspace / "a.txt")]
    assert seen["sub/new/deep.bin"] == ["ok", str(workspace / "sub" / "new" / "deep.bin")]
    assert seen["."] == ["ok", str(workspace)]
    assert seen[inside_abs] == ["ok", inside_abs]
    assert seen["inner-link/x"] == ["ok", str(workspace / "inner-link" / "x")]


def test_path_refuses_to_leave_the_workspace(tmp_path, workspace):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (workspace / "link-out").symlink_to(outside)
    (workspace / "file-link").symlink_to(outside / "secret.txt")
    (workspace / "dangling-out").symlink_to(tmp_path / "not-yet")
    (tmp_path / "ws-sibling").mkdir()
    candidates = [
        "../x",
        "/etc/passwd",
        "sub/../../x",
        "link-out",
        "link-out/secret.txt",
        "file-link",
        "dangling-out",
        str(tmp_path / "ws-sibling" / "f"),
        "../ws-sibling/f",
    ]
    seen = run_paths(tmp_path, workspace, *candidates)
    for candidate in candidates:
        verdict, message = seen[candidate]
        assert verdict == "refused", candidate
        assert "leaves the workspace" in message


def test_path_works_when_the_workspace_itself_is_a_symlink(tmp_path, workspace):
    alias = tmp_path / "ws-alias"
    alias.symlink_to(workspace)
    script = tmp_path / "paths.py"
    script.write_text(PATH_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script), "a.txt", "../x", str(workspace / "b.txt")],
        input=(json.dumps(start_message(alias)) + "\n").encode(),
        capture_output=True,
        env=task_env(),
        timeout=60,
    )
    seen = TaskResult(completed).outputs()
    assert seen["a.txt"] == ["ok", str(alias / "a.txt")]
    assert seen["../x"][0] == "refused"
    assert seen[str(workspace / "b.txt")][0] == "ok"


# -- dependency-free and portable -----------------------------------------------------------


def test_top_level_imports_are_a_few_stdlib_modules():
    tree = ast.parse(HELPER_FILE.read_text(encoding="utf-8"))
    imported = set()
    for node in tree.body:  # top level only; typing sits behind `if TYPE_CHECKING:` (False)
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"__future__", "json", "os", "sys", "threading"}


def test_imports_in_an_isolated_interpreter_without_site_packages(tmp_path):
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "before = set(sys.modules)\n"
        "import weft_task\n"
        "new = sorted(set(sys.modules) - before)\n"
        "std = getattr(sys, 'stdlib_module_names', None)\n"
        "foreign = [m for m in new if std is not None\n"
        "           and m.split('.')[0] not in std and m != 'weft_task']\n"
        "print(repr((new, foreign)))\n" % str(HELPER_DIR)
    )
    completed = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, timeout=60)
    assert completed.returncode == 0, completed.stderr.decode()
    new, foreign = ast.literal_eval(completed.stdout.decode())
    assert "weft_task" in new
    assert foreign == []
    assert "typing" not in new


def test_source_parses_as_python_3_8():
    ast.parse(HELPER_FILE.read_text(encoding="utf-8"), feature_version=(3, 8))


def find_python38():
    candidates = [shutil.which("python3.8")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3")))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, timeout=30
            )
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == b"(3, 8)":
            return candidate
    return None


def test_runs_on_python_3_8(tmp_path, workspace):
    python = find_python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    (workspace / "sub").mkdir()
    result = run_task(
        tmp_path,
        """
        import weft_task as weft
        weft.progress(0.5, done=1, total=2)
        weft.log("hi", "warning")
        weft.add_node({"id": "m-1", "operator": "square"})
        weft.mutate(nodes=[{"id": "m-2"}], edges=[{"from": "m-1", "to": "m-2"}])
        weft.style(node="m-1", color="red")
        weft.output("echo", [weft.inputs, weft.attempt, weft.path("sub/x")])
        try:
            weft.path("../x")
        except ValueError:
            weft.output("refused", True)
        """,
        start=start_message(workspace),
        python=python,
    )
    assert [m["type"] for m in result.messages] == [
        "progress",
        "log",
        "add_node",
        "mutate",
        "style",
        "output",
        "output",
    ]
    assert result.outputs()["echo"] == [{"text": "a b c", "n": 3}, 2, str(workspace / "sub" / "x")]
    assert result.outputs()["refused"] is True
