"""One way to record a benchmark: its JSON and markdown side by side, with the commit, the machine
and the load they ran under, written atomically (a reader never sees half a result); and one way
to find the development corpus.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Mapping

from avcorr.bench.machine import machine_description
from avcorr.runtime import plain_json

#: The environment variable naming the folder that holds ``data/`` (and ``reference/``): the same
#: one the test fixtures honour.
SHARED_ENV = "AVCORR_SHARED"
CHECKOUT = Path(__file__).resolve().parents[3]  # src/avcorr/bench/results.py → the checkout


def shared_data_dir() -> Path | None:
    """The development corpus (a folder with ``catalog.csv``): ``$AVCORR_SHARED/data``, else
    ``../shared/data`` beside the working directory or beside the checkout; None when absent."""
    candidates = []
    if os.environ.get(SHARED_ENV):
        candidates.append(Path(os.environ[SHARED_ENV]) / "data")
    candidates += [Path.cwd().parent / "shared" / "data", CHECKOUT.parent / "shared" / "data"]
    return next((c for c in candidates if (c / "catalog.csv").is_file()), None)


def git_commit(cwd: Path = CHECKOUT) -> str:
    """The checkout's short commit (``unknown`` outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=cwd).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_header() -> dict[str, Any]:
    """What every result records about its run: commit, date, machine (with the load average)."""
    return {"commit": git_commit(), "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_description()}


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_results(out_dir: str | Path, name: str, document: Mapping[str, Any],
                  markdown: str | Callable[[Mapping[str, Any]], str]) -> tuple[Path, Path]:
    """``out_dir/<name>.json`` (plain JSON: NaN as null) and ``out_dir/<name>.md``; a document
    without a ``run`` record gets :func:`run_header`'s (load at the time of writing)."""
    document = dict(document)
    document.setdefault("run", run_header())
    out = Path(out_dir)
    json_path = write_atomic(out / f"{name}.json", json.dumps(plain_json(document), indent=1) + "\n")
    text = markdown(document) if callable(markdown) else markdown
    md_path = write_atomic(out / f"{name}.md", text if text.endswith("\n") else text + "\n")
    return json_path, md_path
