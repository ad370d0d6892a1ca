"""Running the app: the store and the local queue under one data directory, on uvicorn."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avcorr.errors import ConfigError
from avcorr.serve.access import check_binding
from avcorr.serve.app import create_app
from avcorr.serve.queue import LocalQueue
from avcorr.serve.store import ScanStore


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
    store = ScanStore(options.data_dir)
    queue = LocalQueue(store, workers=options.workers)
    return create_app(store, queue, max_upload_bytes=int(options.max_upload_mb * 2**20), token=options.token,
                      workers=options.workers)


def run(options: ServeOptions) -> None:
    """Serve until interrupted (Ctrl-C finishes the scans being judged, then stops)."""
    import uvicorn

    app = build_app(options)
    uvicorn.run(app, host=options.host, port=options.port, log_level="info", timeout_graceful_shutdown=600)
