"""Verdicts appended to a JSON Lines file as each video finishes, so that a killed batch resumes.

One line per video (its verdict's JSON, schema v2), written with a single ``write``, then flushed
and fsynced before the next video starts: a SIGKILL loses at most the video in progress. A last line
cut short by a kill (no final newline, or not valid JSON) is cut off when the file is opened again,
never parsed into a duplicate. Opening the file for a rerun keeps every judged video (the batch
skips them) and drops failed ones (the batch retries them), so the file holds each video once.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avcorr.errors import InputError


def video_key(path: str | Path, audio_path: str | Path | None = None) -> str:
    """The identity of one judged video in a results file: its absolute path (and the separate
    audio it was judged against, if any), so that ``./a.mp4`` and ``a.mp4`` are one video."""
    key = os.path.abspath(os.fspath(path))
    return key if not audio_path else f"{key}\n{os.path.abspath(os.fspath(audio_path))}"


@dataclass
class ResultsLog:
    """A results file: :meth:`open` reads (and repairs) what an earlier run wrote, :meth:`append`
    adds one verdict. ``entries``: the verdict dicts kept, in file order. ``repaired``: lines dropped
    on opening (a torn last line, unreadable lines, failed videos to retry, repeated videos)."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    repaired: int = 0

    def open(self) -> "ResultsLog":
        """Read the file if it exists, keep its judged videos, rewrite it (atomically) without the
        rest; afterwards the file ends with a complete line."""
        self.path = Path(self.path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            return self
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise InputError(self.path, f"cannot read the results file ({exc.strerror or exc})", stage="output") from None
        lines = data.split(b"\n")
        complete, torn = lines[:-1], lines[-1]  # after the last newline: empty, or a line a kill cut short
        kept: dict[str, dict[str, Any]] = {}
        dropped = 1 if torn.strip() else 0
        for raw in complete:
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                key = video_key(entry["path"], entry.get("audio_path"))
            except (ValueError, KeyError, TypeError):
                dropped += 1
                continue
            if entry.get("error") is not None or key in kept:
                dropped += 1  # retried by this run / a repeat (kept once: the first)
                continue
            kept[key] = entry
        self.entries = list(kept.values())
        self.repaired = dropped
        if dropped:
            self._rewrite()
        return self

    def done(self) -> set[str]:
        """Keys (:func:`video_key`) of the videos already judged in the file."""
        return {video_key(e["path"], e.get("audio_path")) for e in self.entries}

    def append(self, entry: dict[str, Any]) -> None:
        """Add one verdict as one line, on disk (fsynced) when this returns."""
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write ({written} of {len(line)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.entries.append(entry)

    def _rewrite(self) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for entry in self.entries:
                    handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
