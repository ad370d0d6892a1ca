"""Running the app: the store and the local queue under one data directory, on uvicorn."""
from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from avcorr.errors import ConfigError
from avcorr.serve.access import check_binding
from avcorr.serve.app import create_app
from avcorr.serve.queue import LocalQueue
from avcorr.serve.store import ScanStore

LOCK_NAME = "server.lock"
_HELD: list[IO] = []  # the data-folder locks of this process, held until it exits


@dataclass(frozen=True)
class ServeOptions:
    """``avcorr serve``'s options. ``max_upload_mb``: largest accepted file, in MiB; ``token``: required
    from non-local clients (None: none); ``allow_no_token``: listen beyond loopback without one."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_upload_mb: float = 1024.0
    token: str | None = None
    allow_no_token: bool = False

    def check(self) -> None:
        """ConfigError for options that cannot work (the binding rule included)."""
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {self.workers}")
        if self.max_upload_mb <= 0:
            raise ConfigError(f"--max-upload-mb must be positive, not {self.max_upload_mb}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0..65535, not {self.port}")
        check_binding(self.host, self.token, self.allow_no_token)
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise ConfigError(f"{self.data_dir}: --data must be a folder")


def build_app(options: ServeOptions) -> Any:
    """The app for ``options``: a :class:`ScanStore` in ``data_dir`` and a :class:`LocalQueue`."""
    options.check()
    options.data_dir.mkdir(parents=True, exist_ok=True)
    lock_data_dir(options.data_dir)
    store = ScanStore(options.data_dir)
    queue = LocalQueue(store, workers=options.workers)
    return create_app(store, queue, max_upload_bytes=int(options.max_upload_mb * 2**20), token=options.token,
                      workers=options.workers)


def lock_data_dir(data_dir: Path) -> None:
    """Claim ``data_dir`` for this process (an exclusive ``flock`` on ``server.lock``, released
    when the process ends); ConfigError when another server holds it. Two servers on one folder
    would judge each other's scans twice and re-queue each other's running scans on start."""
    handle = open(Path(data_dir) / LOCK_NAME, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"{data_dir}: another avcorr serve is using this --data folder") from None
    _HELD.append(handle)


def run(options: ServeOptions) -> None:
    """Serve until interrupted (Ctrl-C finishes the scans being judged, then stops)."""
    import uvicorn

    app = build_app(options)
    uvicorn.run(app, host=options.host, port=options.port, log_level="info", timeout_graceful_shutdown=600)
