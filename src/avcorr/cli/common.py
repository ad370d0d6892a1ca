"""Small pieces every subcommand shares: debug state, JSON printing, progress bars, signals that stop a batch."""
from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")


@dataclass
class CliState:
    debug: bool = False


STATE = CliState()


def print_json(payload: Any) -> None:
    """Print one JSON document on stdout (nothing else may go to stdout with --json)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def progress(items: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal or ``enabled`` is False)."""
    if not enabled:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.console import Console

    console = Console(stderr=True)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total if total is not None else _len(items))
        for item in items:
            yield item
            bar.advance(task)


def _len(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


class Stopped(KeyboardInterrupt):
    """A batch stopped by a signal (SIGTERM, SIGHUP): unwinds like Ctrl-C, so ``finally`` blocks
    write what is finished. ``signum`` gives the exit status 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Turn ``signals`` into :class:`Stopped` inside the block (Ctrl-C already raises
    KeyboardInterrupt). Only in the main thread; the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def stop_status(exc: BaseException) -> int:
    """Exit status of a batch that stopped on ``exc``: 128 + the signal (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)
