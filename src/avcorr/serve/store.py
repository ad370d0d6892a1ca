"""The scan store: one SQLite database (standard library) under the data directory.

A scan is one uploaded file and what became of it: ``queued`` → ``running`` → ``done`` or
``failed``. The database holds the record (the client's file name, kept only as a display string,
the stored path, the detector, the detect JSON verdict, a one-line error and UTC timestamps); the
files live beside it: ``uploads/<id><suffix>`` and ``reports/<id>/index.html``.

Restart rule (:meth:`ScanStore.recover`): a scan left ``queued`` or ``running`` by a server that
stopped is queued again when its upload is still there and it has been started fewer than
:data:`MAX_ATTEMPTS` times (judging a file is a pure function of it, so running it again is safe);
otherwise it is marked failed with the reason. A file that crashes the process every time it is
judged therefore fails after two restarts instead of looping.
"""
from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
#: How many times a scan may be started (once, then once more after a restart) before it is failed.
MAX_ATTEMPTS = 2
DATABASE_NAME = "scans.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    detector TEXT NOT NULL,
    status TEXT NOT NULL,
    band TEXT,
    score REAL,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    finished TEXT
);
CREATE INDEX IF NOT EXISTS scans_created ON scans (created);
"""


def utc_now() -> str:
    """Now as an ISO-8601 UTC timestamp with microseconds (sorts as text)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Scan:
    """One scan as stored. ``result``: the detect JSON verdict (``VideoVerdict.to_dict()``) once
    judged, else None; ``error``: one line, or None; timestamps are ISO-8601 UTC strings."""

    id: str
    name: str
    stored_path: str
    detector: str
    status: str
    band: str | None
    score: float | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    size_bytes: int
    created: str
    finished: str | None


@dataclass(frozen=True)
class ScanQuery:
    """A page of the scan list, newest first. ``name``: a substring of the display name (case
    insensitive); ``band``: exact band; ``since`` / ``until``: ISO dates or datetimes bounding
    ``created`` (a bare date ``until`` includes that whole day)."""

    name: str | None = None
    band: str | None = None
    status: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50
    offset: int = 0


class ScanStore:
    """The scans of one data directory. Thread-safe: one connection, one lock (SQLite writes are
    serial anyway, and every statement here is short)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.uploads = self.data_dir / "uploads"
        self.reports = self.data_dir / "reports"
        for folder in (self.data_dir, self.uploads, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / DATABASE_NAME, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Run one query and fetch all its rows (under the lock, like every use of the connection)."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def new_id() -> str:
        """A fresh scan id: 32 hex digits, safe in a path and a URL."""
        return uuid.uuid4().hex

    def add(self, scan_id: str, name: str, stored_path: str | Path, detector: str, size_bytes: int,
            created: str | None = None) -> Scan:
        """Record an uploaded file as a queued scan (``created``: ISO-8601 UTC, default now)."""
        self._write("INSERT INTO scans (id, name, stored_path, detector, status, size_bytes, created) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (scan_id, name, str(stored_path), detector, QUEUED, int(size_bytes),
                       utc_now() if created is None else _timestamp(created, end_of_day=False)))
        return self.get(scan_id)  # type: ignore[return-value]

    def get(self, scan_id: str) -> Scan | None:
        rows = self._read("SELECT * FROM scans WHERE id = ?", (scan_id,))
        return _scan(rows[0]) if rows else None

    def claim(self, scan_id: str) -> Scan | None:
        """Move a queued scan to running (and count the attempt); None when it is not queued (already
        taken by another worker, or finished)."""
        changed = self._write("UPDATE scans SET status = ?, attempts = attempts + 1 WHERE id = ? AND status = ?",
                              (RUNNING, scan_id, QUEUED))
        return self.get(scan_id) if changed == 1 else None

    def finish(self, scan_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        """Store a scan's verdict: ``done`` with its band and score, or ``failed`` with ``error``."""
        band = None if result is None or error else result.get("band")
        score = None if result is None or error else result.get("score")
        self._write("UPDATE scans SET status = ?, band = ?, score = ?, result = ?, error = ?, finished = ? WHERE id = ?",
                      (FAILED if error else DONE, band, score, None if result is None else json.dumps(result),
                       _one_line(error), utc_now(), scan_id))

    def recover(self) -> list[str]:
        """Apply the restart rule (module docstring) to scans a stopped server left queued or
        running; returns the ids to queue again, oldest first."""
        again = []
        rows = self._read("SELECT id, stored_path, attempts FROM scans WHERE status IN (?, ?) ORDER BY created",
                          (QUEUED, RUNNING))
        for row in rows:
            if not Path(row["stored_path"]).is_file():
                self._fail(row["id"], "interrupted by a server restart, and its upload is gone")
            elif row["attempts"] >= MAX_ATTEMPTS:
                self._fail(row["id"], f"interrupted by a server restart {row['attempts']} times; not retried")
            else:
                self._write("UPDATE scans SET status = ? WHERE id = ?", (QUEUED, row["id"]))
                again.append(row["id"])
        return again

    def _fail(self, scan_id: str, reason: str) -> None:
        self._write("UPDATE scans SET status = ?, error = ?, finished = ? WHERE id = ?",
                      (FAILED, reason, utc_now(), scan_id))

    def list(self, query: ScanQuery = ScanQuery()) -> tuple[list[Scan], int]:
        """One page of scans matching ``query``, newest first, and how many match in all."""
        clauses, params = [], []
        if query.name:
            escaped = query.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if query.band:
            clauses.append("band = ?")
            params.append(query.band)
        if query.status:
            clauses.append("status = ?")
            params.append(query.status)
        if query.since:
            clauses.append("created >= ?")
            params.append(_timestamp(query.since, end_of_day=False))
        if query.until:
            clauses.append("created <= ?")
            params.append(_timestamp(query.until, end_of_day=True))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._read(f"SELECT COUNT(*) FROM scans{where}", tuple(params))[0][0]
        rows = self._read(f"SELECT * FROM scans{where} ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?",
                          (*params, int(query.limit), int(query.offset)))
        return [_scan(r) for r in rows], int(total)

    def counts(self) -> dict[str, int]:
        """Scans per status (every status present, 0 where none)."""
        rows = self._read("SELECT status, COUNT(*) FROM scans GROUP BY status")
        found = {r[0]: int(r[1]) for r in rows}
        return {s: found.get(s, 0) for s in STATUSES}


def _scan(row: sqlite3.Row) -> Scan:
    data = dict(row)
    data["result"] = None if data["result"] is None else json.loads(data["result"])
    return Scan(**data)


def _one_line(text: str | None) -> str | None:
    if not text:
        return None
    line = " ".join(str(text).split())
    return line[:500]


def _timestamp(text: str, end_of_day: bool) -> str:
    """An ISO date or datetime as the stored UTC form; ``ValueError`` when it is neither. A bare
    date means its start (``since``) or its last microsecond (``until``)."""
    text = text.strip()
    if len(text) == 10:
        day = _dt.date.fromisoformat(text)
        moment = _dt.datetime.combine(day, _dt.time.max if end_of_day else _dt.time.min, _dt.timezone.utc)
    else:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")
