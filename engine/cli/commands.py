"""The `weft` commands. Each takes parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.cli import render
from engine.cli.doctor import cmd_doctor as cmd_doctor  # its body lives in its own module
from engine.cli.streams import ReaderSafe
from engine.errors import InvalidInput
from engine.events import GraphChanged, LogLine, NodeState, RunStarted, RunState, Structure
from engine.executors.local import use_pidfd_child_watcher
from engine.history.codec import to_data
from engine.history.fold import RunSnapshot, snapshot
from engine.history.store import Store, deletion_refused
from engine.home import default_home
from engine.promises.registered import checked
from engine.running.control import check_answer_of, check_restart, given_inputs
from engine.running.run import Run
from engine.workflow.loader import load_file, read_text


def open_store(args: argparse.Namespace) -> Store:
    return Store(Path(args.home).expanduser() if args.home else default_home())


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = checked(load_file(args.file, args.library))
    wf = loaded.workflow
    if args.json:
        _emit_json({"file": args.file, "valid": True, "nodes": len(wf.nodes), "edges": len(wf.edges)})
    else:
        print(f"{args.file}: valid ({len(wf.nodes)} nodes, {len(wf.edges)} edges, {len(wf.promises)} promises)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from engine.cli.importing import import_command

    return import_command(args)


def cmd_run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = read_text(path)
    loaded = checked(load_file(path, args.library))
    inputs = given_inputs(args.inputs, loaded.workflow.inputs, loaded.registry)
    store = open_store(args)
    run = Run(
        loaded,
        store,
        text=text,
        max_parallel=args.max_parallel,
        executor=args.executor,
        use_cache=not args.no_cache,
        inputs=inputs,
        ray_address=args.ray_address,
    )
    return _run_here(run, store, json_out=args.json, logs=args.logs)


def _resume_here(args: argparse.Namespace, store: Store, run_id: str) -> int:
    """`weft resume` of an interrupted run: this process continues it, as `weft run` would."""
    return _run_here(Run.resuming(store, run_id), store, json_out=args.json, logs=False)


def _run_here(run: Run, store: Store, *, json_out: bool, logs: bool) -> int:
    """Run ``run`` to its end in this process: progress on stderr, the result on stdout."""
    _preflight(run)
    err, out = ReaderSafe(sys.stderr), ReaderSafe(sys.stdout)
    view = render.RunProgress(run, stream=err, show_logs=logs)
    run.subscribe(view.on_event)
    use_pidfd_child_watcher()
    state = asyncio.run(_execute(run, view))
    view.finish()
    if json_out:
        out.write(json.dumps({"run": run.id, "state": state.value}) + "\n")
    else:
        render.summary(run, store, out)
    out.flush()
    return state.exit_code


def _preflight(run: Run) -> None:
    """Refuse before anything starts: executors that are not available."""
    for resolved in run.expanded.resolved.values():
        run.executor_for(resolved).check(resolved, run.workflow.folder)


async def _execute(run: Run, view: render.RunProgress) -> RunState:
    loop = asyncio.get_running_loop()
    # A closed terminal or a dropped ssh session (SIGHUP) stops the run as Ctrl+C does: tasks
    # stopped, containers removed, the run recorded as cancelled; never left running headless.
    for sig, why in (
        (signal.SIGINT, "interrupted (Ctrl+C)"),
        (signal.SIGTERM, "terminated (SIGTERM)"),
        (signal.SIGHUP, "terminal closed (SIGHUP)"),
    ):
        try:
            loop.add_signal_handler(sig, run.cancel, why)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread
            pass
    ticker = loop.create_task(view.tick())
    try:
        return await run.execute()
    finally:
        ticker.cancel()


def cmd_runs(args: argparse.Namespace) -> int:
    store = open_store(args)
    rows = store.runs(limit=args.limit)
    if args.json:
        _emit_json(
            [
                {
                    "run": r["id"],
                    "workflow": r["workflow"],
                    "state": r["state"],
                    "started_at": iso(r["started_at"]),
                    "finished_at": iso(r["finished_at"]),
                }
                for r in rows
            ]
        )
    else:
        render.runs_table(rows, sys.stdout)
    return 0


def show_data(store: Store, run_id: str) -> dict[str, Any]:
    run = store.run(run_id)
    view = snapshot(store, run_id)
    broken = view.broken
    return {
        "run": run_id,
        "workflow": run["workflow"],
        "state": run["state"],
        "started_at": iso(run["started_at"]),
        "finished_at": iso(run["finished_at"]),
        "nodes": with_groups(
            view,
            (
                {
                    "id": n.id,
                    "state": n.state,
                    "operator": n.operator,
                    "created_by": n.created_by,
                    "started_at": iso(n.started_at),
                    "finished_at": iso(n.finished_at),
                    "attempt": n.attempt,
                    "reason": n.reason,
                    "exit_code": n.exit_code,
                    **({"question": n.question} if n.question is not None else {}),
                    "cached": n.cached_from is not None,
                    "cached_from": n.cached_from,
                }
                for n in view.nodes.values()
            ),
        ),
        "edges": [{"from": e.source, "to": e.target} for e in view.graph_now()[1]],
        "promises": [spec for spec, _creator in view.promises],
        "broken": None
        if broken is None
        else {"promise": broken.promise, "task": broken.task, "reason": broken.reason, "before": broken.before},
        "outputs": {n.id: n.outputs for n in view.nodes.values() if n.outputs},
        "events": run["last_seq"],
    }


def with_groups(view: RunSnapshot, nodes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes of ``weft show``, each `workflow:` node listed before its first node with its
    aggregate state and ``members``; every node says the innermost one it belongs to (``group``)."""
    if not view.groups:
        return list(nodes)
    groups = sorted(view.groups, key=len, reverse=True)  # innermost first

    def group_of(node_id: str) -> str | None:
        return next((g for g in groups if node_id.startswith(g + "/")), None)

    out: list[dict[str, Any]] = []
    listed: set[str] = set()
    for node in nodes:
        enclosing = []
        group = group_of(node["id"])
        while group is not None and group not in listed:
            enclosing.append(group)
            group = group_of(group)
        for g in reversed(enclosing):
            listed.add(g)
            members = view.members(g)
            started = [m.started_at for m in members if m.started_at is not None]
            finished = [m.finished_at for m in members if m.finished_at is not None]
            out.append(
                {
                    "id": g,
                    "state": view.group_state(g),
                    "operator": None,
                    "created_by": None,
                    "started_at": iso(min(started)) if started else None,
                    "finished_at": iso(max(finished)) if finished and len(finished) == len(members) else None,
                    "attempt": 0,
                    "reason": None,
                    "exit_code": None,
                    "cached": False,
                    "cached_from": None,
                    "group": group_of(g),
                    "members": [m.id for m in members],
                }
            )
        out.append({**node, "group": group_of(node["id"])})
    return out


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    data = show_data(store, store.resolve_run(args.run))
    if args.json:
        _emit_json(data)
    else:
        render.show(data, sys.stdout)
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """`weft cache clear`: every stored result forgotten, the runs that made them kept."""
    removed = open_store(args).clear_cache()
    if args.json:
        _emit_json({"removed": removed})
    else:
        print(f"cache cleared: {removed} result{'' if removed == 1 else 's'} removed")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """`weft delete RUN...`: runs forgotten with their events, cached results and workspaces.
    Every run named is found and checked first: an unknown one, or one going on, deletes none."""
    store = open_store(args)
    run_ids = list(dict.fromkeys(store.resolve_run(ref) for ref in args.runs))
    refused = [reason for reason in (deletion_refused(store.run(r)) for r in run_ids) if reason]
    if refused:
        more = (
            f" (and {len(refused) - 1} more run{'s' if len(refused) > 2 else ''} going on)" if len(refused) > 1 else ""
        )
        raise InvalidInput(f"{refused[0]}{more}; nothing was deleted")
    deleted = [store.delete_run(r) for r in run_ids]
    if args.json:
        _emit_json(
            [
                {"run": d.run, "events": d.events, "cached": d.cached, "workspace_removed": d.workspace}
                | ({"workspace_error": d.workspace_error} if d.workspace_error else {})
                for d in deleted
            ]
        )
    else:
        for d in deleted:
            print(
                f"deleted run {d.run}: {d.events} events, {d.cached} cached results"
                + (", workspace" if d.workspace else "")
            )
    for d in deleted:
        if d.workspace_error:
            print(f"weft: warning: run {d.run} deleted, but {d.workspace_error}", file=sys.stderr)
    return 1 if any(d.workspace_error for d in deleted) else 0


def _has_node(store: Store, run_id: str, node: str) -> bool:
    for rec in store.events(run_id, (RunStarted, GraphChanged)):
        assert isinstance(rec.event, Structure)
        if any(n.id == node for n in rec.event.nodes):
            return True
    return False


def cmd_logs(args: argparse.Namespace) -> int:
    store = open_store(args)
    run_id = store.resolve_run(args.run)
    if args.node is not None and not _has_node(store, run_id, args.node):
        raise InvalidInput(f"run {run_id} has no node '{args.node}'")
    for rec in store.events(run_id, (LogLine,), node=args.node):
        line = rec.event
        assert isinstance(line, LogLine)
        if args.json:
            print(json.dumps({"seq": rec.seq, "ts": iso(rec.ts), **to_data(line)}, ensure_ascii=False))
        else:
            render.log_line(line, sys.stdout, with_node=args.node is None)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from engine.cli import graphviz
    from engine.history.replay import at_event, from_workflow, to_dot, to_json  # only this command folds runs

    dot_program = None
    if args.format in graphviz.FORMATS:  # refuse before any work: no GraphViz, or bytes onto a terminal
        dot_program = graphviz.require_dot(args.format)
        if args.format in graphviz.BINARY and not args.output and sys.stdout.isatty():
            raise InvalidInput(f"--format {args.format} is binary: write it with -o FILE, or redirect stdout")
    target = Path(args.target)
    if target.exists() and target.is_file():
        if args.at is not None:
            raise InvalidInput("--at needs a run, not a workflow file")
        loaded = checked(load_file(target, args.library))
        (view, ghosts), name, at = from_workflow(loaded), loaded.workflow.name, None
    else:
        store = open_store(args)
        run_id = store.resolve_run(args.target)
        last = store.run(run_id)["last_seq"]
        if args.at is not None and not 0 <= args.at <= last:
            raise InvalidInput(f"--at {args.at}: run {run_id} has events 0 to {last}")
        (view, ghosts), name = at_event(store, run_id, args.at), run_id
        at = view.at
    if args.format == "json":
        data = (json.dumps(to_json(view, ghosts, at), indent=2) + "\n").encode("utf-8")
    elif dot_program is None:
        data = to_dot(view, ghosts, name).encode("utf-8")
    else:
        data = graphviz.render(to_dot(view, ghosts, name), args.format, dot_program)
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.cli.export import export_command  # only this command knows other tools' formats

    return export_command(args)


#: The states a control may be asked in, and the state that shows it was taken.
_CONTROLS = {
    "pause": ((RunState.RUNNING,), RunState.PAUSED),
    "resume": ((RunState.PAUSED,), RunState.RUNNING),
    "stop": ((RunState.RUNNING, RunState.PAUSED), RunState.CANCELLED),
}
CONTROL_WAIT = 5.0  # seconds `weft pause` waits to see its control taken (a run takes it within 1 s)


def cmd_control(args: argparse.Namespace) -> int:
    """`weft pause|resume|stop RUN`: asked through the store, so it works from any process;
    waits until the run has taken it and says the run's state."""
    kind = args.control
    store = open_store(args)
    run_id = store.resolve_run(args.run)
    allowed, shows = _CONTROLS[kind]
    state = RunState(store.run(run_id)["state"])
    if state is RunState.INTERRUPTED:
        if kind == "resume":
            return _resume_here(args, store, run_id)
        store.add_control(run_id, kind)  # kept: the run takes it when it is resumed, before any start
        if args.json:
            _emit_json({"run": run_id, "state": state.value})
        else:
            print(
                f"run {run_id} interrupted: the {kind} is recorded and applies when `weft resume {run_id}` continues it"
            )
        return 0
    if state not in allowed:
        raise InvalidInput(f"cannot {kind} run {run_id}: it is {state.value}")
    number = store.add_control(run_id, kind)
    deadline = time.monotonic() + CONTROL_WAIT
    while True:
        row = store.run(run_id)
        state = RunState(row["state"])
        if state is shows or state.is_terminal or state is RunState.INTERRUPTED or not store.is_pending(number):
            break
        if time.monotonic() > deadline:
            raise InvalidInput(f"run {run_id} has not taken the {kind} within {CONTROL_WAIT:g} s; it stays asked")
        time.sleep(0.05)
    if args.json:
        _emit_json({"run": run_id, "state": state.value})
    else:
        print(f"run {run_id} {state.value}")
    return 0


def _wait_taken(store: Store, run_id: str, number: int, what: str) -> None:
    """Wait until the run has taken control ``number`` (a live run does within 1 s)."""
    deadline = time.monotonic() + CONTROL_WAIT
    while store.is_pending(number):
        state = RunState(store.run(run_id)["state"])
        if state.is_terminal or state is RunState.INTERRUPTED:
            return
        if time.monotonic() > deadline:
            raise InvalidInput(f"run {run_id} has not taken the {what} within {CONTROL_WAIT:g} s; it stays asked")
        time.sleep(0.05)


def cmd_restart(args: argparse.Namespace) -> int:
    """`weft restart RUN NODE...`: a paused run, alive, is asked to (through the store); an
    ended or interrupted one is restarted and continued by this process, as `weft run` would."""
    store = open_store(args)
    run_id = store.resolve_run(args.run)
    nodes = list(dict.fromkeys(args.nodes))
    state = check_restart(store, run_id, nodes)
    if state is RunState.PAUSED:
        number = store.add_control(run_id, "restart", {"nodes": nodes})
        _wait_taken(store, run_id, number, "restart")
        state = RunState(store.run(run_id)["state"])
        if args.json:
            _emit_json({"run": run_id, "state": state.value})
        else:
            print(f"run {run_id} restarted {', '.join(nodes)}: it is {state.value}")
        return 0
    return _run_here(Run.resuming(store, run_id, restart=nodes), store, json_out=args.json, logs=args.logs)


def cmd_answer(args: argparse.Namespace) -> int:
    """`weft answer RUN NODE`: checked here against the node's question, then given to the run
    through the store: taken at once by a live run, or when `weft resume` continues it."""
    store = open_store(args)
    run_id = store.resolve_run(args.run)
    state, values = check_answer_of(store, run_id, args.node, args.sets, args.json_answer)
    number = store.add_control(run_id, "answer", {"node": args.node, "values": values})
    if state is RunState.INTERRUPTED:
        print(f"answer recorded: `weft resume {run_id}` continues the run with it")
        return 0
    _wait_taken(store, run_id, number, "answer")
    node = snapshot(store, run_id).nodes[args.node]
    if node.state is NodeState.WAITING:
        raise InvalidInput(
            f"run {run_id} did not take the answer for '{args.node}': see `weft logs {run_id} {args.node}`"
        )
    print(f"{args.node} {node.state}")
    return 0
