"""The scan queue: the app hands it scan ids, workers judge them and write the outcome to the store.

The app only ever calls :class:`ScanQueue`'s three methods; every fact about a scan (its file,
detector, status, verdict) lives in the store, never in the queue, so a queue message is just the
scan id. :class:`LocalQueue` is the built-in implementation: a bounded pool of worker threads in
the server process (``--workers``), each loading every detector it needs once and keeping it.
Detection is numpy/torch/MediaPipe work that releases the GIL, so threads share the cores.

Moving the work to other machines (an engine such as Celery or Ray) means writing another
:class:`ScanQueue`:

- ``submit(scan_id)`` sends the id (Celery: ``judge_scan.delay(scan_id)`` on a broker such as
  Redis; Ray: ``judge_scan.remote(scan_id)`` on a cluster); ``start``/``stop`` connect and
  disconnect; nothing else in the app changes.
- the remote task does what :meth:`LocalQueue._run` does: :meth:`ScanStore.claim` the scan (it
  returns None when another worker took it, so at-least-once delivery is safe), build its detector
  once per worker process (Celery's ``worker_process_init`` signal, a Ray actor's ``__init__``),
  :func:`avcorr.serve.detection.judge` the file, :meth:`ScanStore.finish`.
- the workers must reach the same store and files: the data directory on shared storage, and the
  SQLite file replaced by a server database behind the same :class:`ScanStore` methods (SQLite
  over a network file system is not safe for concurrent writers).
- the restart rule stays :meth:`ScanStore.recover`'s; a broker that redelivers unacknowledged
  messages (Celery ``acks_late``) makes the re-queue on start unnecessary but harmless.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Protocol

from avcorr.serve.detection import Judgement, judge, load_detector
from avcorr.serve.store import ScanStore

LOG = logging.getLogger("avcorr.serve")
_STOP = object()


class ScanQueue(Protocol):
    """Where the app sends scans to be judged (module docstring: how another engine takes over)."""

    def submit(self, scan_id: str) -> None:
        """Judge this queued scan some time soon; returns at once."""

    def start(self) -> None:
        """Start taking scans (the app calls it once, on startup)."""

    def stop(self) -> None:
        """Stop taking scans; a scan being judged is finished first (the app calls it on shutdown)."""


class LocalQueue:
    """A bounded pool of ``workers`` threads in this process, fed with ids by :meth:`submit`.

    ``load``: detector name → detector (default :func:`avcorr.serve.detection.load_detector`),
    called once per worker and name. ``on_done``: called with each scan id once its outcome is
    stored (tests wait on it)."""

    def __init__(self, store: ScanStore, workers: int = 1, load: Callable[[str], Any] = load_detector,
                 on_done: Callable[[str], None] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"need at least one worker, not {workers}")
        self.store = store
        self.workers = workers
        self.load = load
        self.on_done = on_done
        self._ids: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def submit(self, scan_id: str) -> None:
        self._ids.put(scan_id)

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"avcorr-scan-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float | None = None) -> None:
        """Let each worker finish the scan it is judging, then end; scans still waiting stay
        ``queued`` in the store (the next start queues them again: :meth:`ScanStore.recover`)."""
        self._stopping.set()
        for _ in self._threads:
            self._ids.put(_STOP)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    def pending(self) -> int:
        """Ids waiting for a worker (approximate, as any queue size)."""
        return self._ids.qsize()

    def _run(self) -> None:
        detectors: dict[str, Any] = {}
        try:
            while True:
                scan_id = self._ids.get()
                if scan_id is _STOP or self._stopping.is_set():
                    return
                self._judge_one(scan_id, detectors)
        finally:
            for detector in detectors.values():
                if hasattr(detector, "close"):
                    detector.close()

    def _judge_one(self, scan_id: str, detectors: dict[str, Any]) -> None:
        scan = self.store.claim(scan_id)
        if scan is None:
            return  # finished, or taken by another worker
        try:
            if scan.detector not in detectors:
                detectors[scan.detector] = self.load(scan.detector)
            outcome = judge(detectors[scan.detector], scan.stored_path, scan.name, self.store.reports / scan.id)
        except Exception as error:  # noqa: BLE001 - e.g. a detector that cannot load: the scan fails, the worker lives
            LOG.exception("scan %s could not be judged", scan_id)
            outcome = Judgement(result={}, error=f"detector {scan.detector!r} could not run ({type(error).__name__}: {error})",
                                report=None)
        self.store.finish(scan_id, outcome.result or None, outcome.error)
        if self.on_done is not None:
            self.on_done(scan_id)
