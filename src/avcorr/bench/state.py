"""A benchmark's work state: wall seconds per stage and done markers, kept in ``state.json``.

Benchmarks are resumable: a stage that is marked done is skipped on a rerun, and its time is
kept so that the report can state how long each stage took in all.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_NAME = "state.json"


class StageClock:
    """Wall seconds per stage, persisted in the work folder's ``state.json`` with done markers."""

    def __init__(self, work_dir: Path) -> None:
        self.path = Path(work_dir) / STATE_NAME
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.state.setdefault("stages", {})

    def done(self, stage: str) -> bool:
        return bool(self.state["stages"].get(stage, {}).get("done"))

    def record(self, stage: str, seconds: float, **info: Any) -> None:
        entry = self.state["stages"].setdefault(stage, {"seconds": 0.0})
        entry["seconds"] = round(entry.get("seconds", 0.0) + seconds, 2)
        entry.update(info, done=True)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1) + "\n")
        os.replace(tmp, self.path)

    def seconds(self) -> dict[str, float]:
        return {k: v.get("seconds", 0.0) for k, v in self.state["stages"].items()}
