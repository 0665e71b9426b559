"""Run history in one SQLite database (WAL), with the standard library's sqlite3 alone (it is
on the path of every command: a wrapper library would cost more to import than a small run).

The ``events`` table is the append-only, numbered truth of every run, written and read through
``engine.history.codec`` (what is read back is typed events); ``engine.history.fold`` turns them into what the
run was at any event. ``runs`` is an index of runs for listing them (state, times, last event),
kept in the same transaction that appends the events, as is ``cache``, the results nodes with
``cache: true`` may reuse (``engine.running.cache``). Appends are batched: the run hands over
all events of one scheduler step at once, which keeps persistence cheap enough to record
everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from engine.errors import InvalidInput, RecordingFailed
from engine.events import ControlTaken, Event, LogLine, PromiseBroken, Recorded, RunState, RunStateChanged
from engine.history.codec import KINDS, decode, encode
from engine.home import remove_inside

DB_NAME = "weft.db"
#: 2: a change of structure is one event (``graph``), the registration is ``run_started``
SCHEMA_VERSION = 2
#: Seconds one statement waits for another process's write lock before it gives up. Short, so a
#: run's event loop (signals, timeouts, tasks' output) never stalls behind another writer: the
#: run retries a busy write later instead (``engine.running.run``), and one-off writes retry here.
BUSY_WAIT = 0.02
#: Seconds a one-off write (creating the database, recording a new run) keeps retrying while
#: another process holds the write lock.
SETUP_PATIENCE = 60.0
#: How long a run keeps retrying while another process holds the write lock before it stops
#: (``$WEFT_DB_BUSY_TIMEOUT`` seconds); its events wait in memory meanwhile.
DEFAULT_BUSY_PATIENCE = 60.0
#: Seconds a run's lease lasts: the run renews it every ``LEASE / 5`` seconds while its process
#: lives. A run of another host still `running` or `paused` past its lease is `interrupted`
#: (on this host, whether its process lives decides: see ``state_now``).
LEASE = 10.0
#: Tries of a write refused for another reason (a full disk, an I/O error), half a second apart.
BROKEN_TRIES = 3

T = TypeVar("T")

#: The tables (``events`` is the truth, ``runs`` an index of it) and their indexes.
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS [runs] ([id] TEXT PRIMARY KEY, [workflow] TEXT, [path] TEXT, [text] TEXT,"
    " [state] TEXT, [started_at] FLOAT, [finished_at] FLOAT, [settings] TEXT, [broken] TEXT, [last_seq] INTEGER,"
    " [owner] TEXT, [lease_until] FLOAT)",
    # controls asked of a run from any process (`weft pause`, the studio): a run takes them in order
    "CREATE TABLE IF NOT EXISTS [controls] ([id] INTEGER PRIMARY KEY AUTOINCREMENT, [run] TEXT, [kind] TEXT,"
    " [args] TEXT, [at] FLOAT, [taken] INTEGER DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS [idx_controls_run_taken] ON [controls] ([run], [taken])",
    "CREATE TABLE IF NOT EXISTS [events] ([run] TEXT, [seq] INTEGER, [ts] FLOAT, [kind] TEXT, [node] TEXT,"
    " [data] TEXT, PRIMARY KEY ([run], [seq]))",
    "CREATE INDEX IF NOT EXISTS [idx_events_run_kind_node] ON [events] ([run], [kind], [node])",
    "CREATE INDEX IF NOT EXISTS [idx_runs_started_at] ON [runs] ([started_at])",
)
#: Results nodes may reuse (``engine.running.cache``): one succeeded attempt per key. Added
#: within format 2: a database without it gains it when opened (``_create``).
CACHE_TABLE = (
    "CREATE TABLE IF NOT EXISTS [cache] ([key] TEXT PRIMARY KEY, [run] TEXT, [node] TEXT, [at] FLOAT,"
    " [outputs] TEXT, [mutations] TEXT, [files] TEXT)"
)


def describe_db_error(exc: BaseException) -> str:
    """A database error in a few words, without what SQLite may quote of the file."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _other_format(path: Path, version: int) -> str:
    """Why a database of another format is not used, and what to do, in one line."""
    if version > SCHEMA_VERSION:
        return (
            f"{path} was written by a newer Weft (run database format {version}, this Weft reads "
            f"{SCHEMA_VERSION}): upgrade Weft, or use another home with --home or $WEFT_HOME"
        )
    return (
        f"{path} holds runs in an older format ({version}; this Weft reads {SCHEMA_VERSION}): "
        "move it aside to start afresh, or use another home with --home or $WEFT_HOME"
    )


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def busy_patience() -> float:
    """Seconds a run waits out another process holding the write lock: $WEFT_DB_BUSY_TIMEOUT."""
    try:
        return max(0.0, float(os.environ.get("WEFT_DB_BUSY_TIMEOUT", DEFAULT_BUSY_PATIENCE)))
    except ValueError:
        return DEFAULT_BUSY_PATIENCE


class WriteRetry:
    """When a refused write is tried again, and when it is given up, for every writer alike.

    A busy database (another process holds the write lock) is waited for, with pauses growing
    to a second, until ``patience`` seconds have passed since the first refusal; one that
    cannot take the write at all (a full disk, a read-only or broken file) gets ``BROKEN_TRIES``
    tries, half a second apart.
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._since: float | None = None
        self._pause = 0.02
        self._broken = 0

    def next_pause(self, busy: bool, now: float) -> float | None:
        """Seconds to wait before the next try, or None: give up."""
        if self._since is None:
            self._since = now
        if not busy:
            self._broken += 1
            return 0.5 if self._broken < BROKEN_TRIES else None
        pause, self._pause = self._pause, min(self._pause * 2, 1.0)
        return pause if now + pause - self._since <= self.patience else None


def patiently(action: Callable[[], T], patience: float = SETUP_PATIENCE) -> T:
    """Run ``action``, retrying while the database is locked by another process, for at most
    ``patience`` seconds. For one-off writes outside a run's event loop."""
    retry = WriteRetry(patience)
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            pause = retry.next_pause(True, time.monotonic()) if _is_busy(exc) else None
            if pause is None:
                raise
        time.sleep(pause)


class Deleted(NamedTuple):
    """What deleting a run removed: its events and cached results (counts), and whether its
    workspace went too (``workspace_error`` says why not when it could not be removed)."""

    run: str
    events: int
    cached: int
    workspace: bool
    workspace_error: str | None = None


def deletion_refused(row: dict[str, Any]) -> str | None:
    """Why run ``row`` (as ``Store.run`` or ``Store.runs`` give it) may not be deleted now, in
    one line, or None: a run that is going on, its process alive, is never deleted."""
    try:
        live = RunState(row["state"]).is_live
    except ValueError:
        return None
    if not live:
        return None
    owner = str(row.get("owner") or "")
    host, _, who = owner.rpartition(":")
    pid = who.partition("@")[0]
    process = f"process {pid} on {host}" if pid and host else "its process"
    return (
        f"run {row['id']} is {row['state']}: {process} is still running it; "
        f"stop it first (`weft stop {row['id']}`), then delete it"
    )


class CacheRow(NamedTuple):
    """One reusable result as stored: ``outputs``, ``mutations`` (the raw changes of structure
    the task sent, in order) and ``files`` (workspace-relative paths of its file outputs) are JSON."""

    key: str
    run: str
    node: str
    at: float
    outputs: str
    mutations: str
    files: str


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Store:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / DB_NAME
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_WAIT, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise InvalidInput(f"{self.home}: cannot open the run database: {describe_db_error(exc)}") from None
        self.conn = conn
        try:
            # Several processes may open a fresh home at the same moment: each step tolerates
            # the others (a locked database is waited for, tables are created if not there).
            patiently(self._use_wal)
            # WAL + NORMAL: a commit is durable against a crash of Weft, and costs no fsync.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            patiently(self._create)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            conn.close()
            raise InvalidInput(f"{self.path}: cannot use the run database: {describe_db_error(exc)}") from None
        if version != SCHEMA_VERSION:
            conn.close()
            raise InvalidInput(_other_format(self.path, version))

    def _use_wal(self) -> None:
        mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # another connection held the file: not switched yet
            raise sqlite3.OperationalError("database is locked")

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One real transaction: with isolation_level=None, `with self._tx():` opens none, so every
        statement (and every row of an executemany) would commit on its own. IMMEDIATE takes the
        write lock first, so a busy database fails here, before any work."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise

    def workspace(self, run_id: str) -> Path:
        return self.home / "workspaces" / run_id

    def _create(self) -> None:
        exists = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if {"runs", "events", "controls", "cache"} <= exists:
            return
        with self._tx():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if "runs" in exists and version != SCHEMA_VERSION:
                return  # another format: left as it is, and refused (see __init__)
            for statement in (*SCHEMA, CACHE_TABLE):
                self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- writing -----------------------------------------------------------------------

    def create_run(
        self, run_id: str, workflow: str, path: str | None, text: str, settings: dict[str, Any], started_at: float
    ) -> None:
        def insert() -> None:
            with self._tx():
                self.conn.execute(
                    "INSERT INTO runs (id, workflow, path, text, state, started_at, settings, last_seq, owner,"
                    " lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    (
                        run_id,
                        workflow,
                        path,
                        text,
                        RunState.RUNNING.value,
                        started_at,
                        _json(settings),
                        this_process(),
                        started_at + LEASE,
                    ),
                )

        try:
            patiently(insert)
        except sqlite3.Error as exc:
            raise RecordingFailed(
                f"cannot record a new run in {self.path}: {describe_db_error(exc)}", busy=_is_busy(exc)
            ) from None

    def claim(self, run_id: str, owner: str | None) -> None:
        """Make this process the one that runs ``run_id``, which ``owner`` ran (resume); refused
        in one line if another process claimed it first."""

        def update() -> int:
            with self._tx():
                return self.conn.execute(
                    "UPDATE runs SET owner=?, lease_until=? WHERE id=? AND owner IS ?",
                    (this_process(), time.time() + LEASE, run_id, owner),
                ).rowcount

        try:
            claimed = patiently(update)
        except sqlite3.Error as exc:
            raise InvalidInput(f"cannot resume run {run_id} in {self.path}: {describe_db_error(exc)}") from None
        if not claimed:
            raise InvalidInput(f"run {run_id} is being resumed by another process")

    def renew_lease(self, run_id: str, until: float) -> None:
        """Say the run's process still lives, until ``until``; a busy database raises
        ``RecordingFailed`` at once (the next renewal comes soon)."""
        try:
            with self._tx():
                self.conn.execute("UPDATE runs SET lease_until=? WHERE id=?", (until, run_id))
        except (sqlite3.Error, OSError) as exc:
            raise RecordingFailed(describe_db_error(exc), busy=_is_busy(exc)) from None

    def add_control(self, run_id: str, kind: str, args: dict[str, Any] | None = None) -> int:
        """Ask run ``run_id`` for ``kind`` (pause, resume, stop); kept until the run takes it."""

        def insert() -> int:
            with self._tx():
                cursor = self.conn.execute(
                    "INSERT INTO controls (run, kind, args, at) VALUES (?, ?, ?, ?)",
                    (run_id, kind, _json(args or {}), time.time()),
                )
                return int(cursor.lastrowid or 0)

        try:
            return patiently(insert)
        except sqlite3.Error as exc:
            raise InvalidInput(
                f"cannot record the {kind} of run {run_id} in {self.path}: {describe_db_error(exc)}"
            ) from None

    def controls(self, run_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        """The controls asked of the run and not taken yet, oldest first: (id, kind, args)."""
        rows = self.conn.execute(
            "SELECT id, kind, args FROM controls WHERE run=? AND taken=0 ORDER BY id", (run_id,)
        ).fetchall()
        return [(int(i), str(k), json.loads(a)) for i, k, a in rows]

    def is_pending(self, control: int) -> bool:
        """Has control number ``control`` not been taken yet?"""
        row = self.conn.execute("SELECT taken FROM controls WHERE id=?", (control,)).fetchone()
        return row is not None and not row[0]

    def append(self, batch: list[Recorded], cache_rows: Iterable[CacheRow] = ()) -> None:
        """Persist events and their derived rows atomically: all of them, or none and
        ``RecordingFailed`` (``busy`` when another process holds the write lock).

        ``cache_rows`` are results nodes may reuse, written with the events that record their
        success: no entry ever outlives a lost record of the run it came from."""
        if not batch:
            return
        try:
            self._append(batch, cache_rows)
        except (sqlite3.Error, OSError) as exc:
            raise RecordingFailed(describe_db_error(exc), busy=_is_busy(exc)) from None

    def last_seq(self, run_id: str) -> int:
        row = self.conn.execute("SELECT last_seq FROM runs WHERE id=?", (run_id,)).fetchone()
        return int(row[0]) if row else 0

    def _append(self, batch: list[Recorded], cache_rows: Iterable[CacheRow]) -> None:
        conn = self.conn
        last = batch[-1]
        rows = []
        run_updates: list[tuple[str, tuple[Any, ...]]] = []
        for rec in batch:
            kind, node, data = encode(rec.event)
            rows.append((rec.run, rec.seq, rec.ts, kind, node, data))
            event = rec.event
            if isinstance(event, RunStateChanged):
                finished = rec.ts if event.state.is_terminal else None
                run_updates.append(  # a restarted run is going on again: it has no end yet
                    (
                        "UPDATE runs SET state=?, finished_at=? WHERE id=?",
                        (event.state.value, finished, rec.run),
                    )
                )
            elif isinstance(event, ControlTaken):
                run_updates.append(("UPDATE controls SET taken=1 WHERE id=?", (event.control,)))
            elif isinstance(event, PromiseBroken):
                broken = {"promise": event.promise, "task": event.task, "reason": event.reason, "before": event.before}
                run_updates.append(("UPDATE runs SET broken=? WHERE id=?", (_json(broken), rec.run)))
        # the write lock first: a busy database fails at once, before any work on the batch
        with self._tx():
            conn.executemany("INSERT INTO events (run, seq, ts, kind, node, data) VALUES (?,?,?,?,?,?)", rows)
            for sql, args in run_updates:
                conn.execute(sql, args)
            conn.execute("UPDATE runs SET last_seq=? WHERE id=?", (last.seq, last.run))
            conn.executemany(
                "INSERT OR REPLACE INTO cache (key, run, node, at, outputs, mutations, files) VALUES (?,?,?,?,?,?,?)",
                cache_rows,
            )

    # -- the cache -----------------------------------------------------------------------

    def cached(self, key: str) -> CacheRow | None:
        """The reusable result stored under ``key``, or None."""
        row = self.conn.execute(
            "SELECT key, run, node, at, outputs, mutations, files FROM cache WHERE key=?", (key,)
        ).fetchone()
        return None if row is None else CacheRow(*row)

    def clear_cache(self) -> int:
        """Forget every reusable result; how many there were."""

        def delete() -> int:
            with self._tx():
                return self.conn.execute("DELETE FROM cache").rowcount

        try:
            return patiently(delete)
        except sqlite3.Error as exc:
            raise InvalidInput(f"cannot clear the cache in {self.path}: {describe_db_error(exc)}") from None

    def delete_run(self, run_id: str) -> Deleted:
        """Forget run ``run_id``: its row, events, controls and cached results in one
        transaction, then its workspace (only inside the home). A run going on is refused
        (``InvalidInput``, ``deletion_refused``), checked under the write lock so it cannot be
        resumed in between. A workspace that cannot be removed is reported, not raised: the
        run is gone from the database by then."""

        def delete() -> tuple[int, int]:
            with self._tx():
                reason = deletion_refused(self.run(run_id))
                if reason:
                    raise InvalidInput(reason)
                events = self.conn.execute("DELETE FROM events WHERE run=?", (run_id,)).rowcount
                cached = self.conn.execute("DELETE FROM cache WHERE run=?", (run_id,)).rowcount
                self.conn.execute("DELETE FROM controls WHERE run=?", (run_id,))
                self.conn.execute("DELETE FROM runs WHERE id=?", (run_id,))
                return events, cached

        try:
            events, cached = patiently(delete)
        except sqlite3.Error as exc:
            raise InvalidInput(f"cannot delete run {run_id} in {self.path}: {describe_db_error(exc)}") from None
        try:
            removed = remove_inside(self.workspace(run_id), self.home)
        except OSError as exc:
            error = f"its workspace {self.workspace(run_id)} could not be removed: {exc.strerror or exc}"
            return Deleted(run_id, events, cached, False, error)
        return Deleted(run_id, events, cached, removed)

    # -- reading -----------------------------------------------------------------------

    def resolve_run(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one, or ``last``."""
        if ref in ("last", "latest"):
            row = self.conn.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
            if row is None:
                raise InvalidInput("no runs yet")
            return row[0]
        rows = self.conn.execute(
            "SELECT id FROM runs WHERE id = ? OR id LIKE ? ORDER BY started_at DESC LIMIT 3",
            (ref, ref.replace("%", "").replace("_", "\\_") + "%"),
        ).fetchall()
        exact = [r[0] for r in rows if r[0] == ref]
        if exact:
            return exact[0]
        if not rows:
            raise InvalidInput(f"no run '{ref}' in {self.home / DB_NAME} (see `weft runs`)")
        if len(rows) > 1:
            raise InvalidInput(f"'{ref}' matches several runs ({', '.join(r[0] for r in rows)}, ...)")
        return rows[0][0]

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's row; ``state`` is what the run is now: `interrupted` if its process is gone."""
        cursor = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,))
        row = cursor.fetchone()
        if row is None:
            raise InvalidInput(f"no run '{run_id}'")
        data = self._row(cursor, row)
        data["state"] = state_now(data["state"], data["owner"], data["lease_until"])
        return data

    def runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The runs, newest first; ``state`` as of now, ``owner`` the process that runs (ran) it."""
        sql = (
            "SELECT id, workflow, path, state, started_at, finished_at, owner, lease_until FROM runs"
            " ORDER BY started_at DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        cur = self.conn.execute(sql)
        cols = [c[0] for c in cur.description]
        out = []
        for r in cur.fetchall():
            data = dict(zip(cols, r))
            data["state"] = state_now(data.pop("state"), data["owner"], data.pop("lease_until"))
            out.append(data)
        return out

    def event_times(self, run_id: str) -> list[float]:
        """When each of the run's events happened, in order (index 0 is event 1): a replay's clock."""
        return [float(ts) for (ts,) in self.conn.execute("SELECT ts FROM events WHERE run=? ORDER BY seq", (run_id,))]

    def events(
        self,
        run_id: str,
        types: Iterable[type[Event]] | None = None,
        *,
        upto: int | None = None,
        skip: Iterable[type[Event]] = (),
        node: str | None = None,
        after: int = 0,
    ) -> Iterator[Recorded]:
        """The run's events after ``after`` up to ``upto``, decoded; only ``types`` if given,
        none of ``skip``, and only those about ``node`` if given."""
        sql = "SELECT seq, ts, kind, data FROM events WHERE run=? AND seq>?"
        args: list[Any] = [run_id, after]
        if upto is not None:
            sql += " AND seq<=?"
            args.append(upto)
        for negate, chosen in (("", types), (" NOT", skip)):
            if chosen is None:
                continue
            kinds = [KINDS[t] for t in chosen]
            if kinds or not negate:
                sql += f" AND kind{negate} IN ({','.join('?' * len(kinds))})"
                args.extend(kinds)
        if node is not None:
            sql += " AND node=?"
            args.append(node)
        sql += " ORDER BY seq"
        for seq, ts, kind, data in self.conn.execute(sql, args):
            yield Recorded(run_id, seq, ts, decode(kind, data, f"event {seq} of run {run_id}"))

    def recent_lines(self, run_id: str, per_node: int) -> tuple[list[Recorded], dict[str | None, int]]:
        """The last ``per_node`` log lines of each node of the run (and of the engine's own,
        node None), in the run's order, and how many lines each wrote in all: what a view that
        keeps a bounded buffer per node needs, without reading every line of a chatty run."""
        kind = KINDS[LogLine]
        sql = (
            "SELECT seq, ts, kind, data FROM (SELECT seq, ts, kind, data, ROW_NUMBER() OVER"
            " (PARTITION BY node ORDER BY seq DESC) AS back FROM events WHERE run=? AND kind=?)"
            " WHERE back<=? ORDER BY seq"
        )
        lines = [
            Recorded(run_id, seq, ts, decode(k, data, f"event {seq} of run {run_id}"))
            for seq, ts, k, data in self.conn.execute(sql, (run_id, kind, per_node))
        ]
        counts = dict(
            self.conn.execute("SELECT node, COUNT(*) FROM events WHERE run=? AND kind=? GROUP BY node", (run_id, kind))
        )
        return lines, counts

    def _row(self, cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
        d = dict(zip([c[0] for c in cursor.description], row))
        for key in ("settings", "broken"):
            if d.get(key):
                d[key] = json.loads(d[key])
        return d


def this_process() -> str:
    """Who runs a run: host, process id and, where known, when the process started (so a
    process id the system gave again to another process is not taken for the run's)."""
    pid = os.getpid()
    started = _start_time(pid)
    return f"{socket.gethostname()}:{pid}" + (f"@{started}" if started else "")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int | str) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None  # field 22: starttime


def _alive(owner: str | None) -> bool | None:
    """Does the process that runs a run live? Known only for a process on this host (None
    elsewhere). A killed process its parent has not reaped yet is gone, and so is one whose
    id now belongs to a process that started at another time."""
    host, _, who = (owner or "").rpartition(":")
    pid, _, started = who.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    fields = _stat(pid)
    if fields is None:
        return True
    if fields[0] == "Z":
        return False
    return not started or len(fields) <= 19 or fields[19] == started


def state_now(recorded: str, owner: str | None, lease_until: float | None, now: float | None = None) -> str:
    """A run's state as of now: one recorded as going on (`running`, `paused`) whose process is
    gone is `interrupted`. On this host the process itself says (a live run may be unable to
    renew its lease while another process holds the database); elsewhere its lease does."""
    if recorded not in (RunState.RUNNING, RunState.PAUSED):
        return recorded
    alive = _alive(owner)
    if alive is None:
        alive = lease_until is None or lease_until >= (time.time() if now is None else now)
    return recorded if alive else RunState.INTERRUPTED.value
