"""``avcorr serve``: a local web page and JSON API over the detectors, with a SQLite store (docs/serve.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avcorr.serve.server import ServeOptions, run


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Other than loopback, a --token is required (or --allow-no-token)."),
        port: int = typer.Option(8000, "--port", help="TCP port."),
        data: Path = typer.Option(Path("avcorr_data"), "--data", help="Folder for the database (scans.sqlite3), uploads/ and reports/; created if missing."),
        workers: int = typer.Option(1, "--workers", help="Videos judged at the same time (each worker loads its detector once)."),
        max_upload_mb: float = typer.Option(1024.0, "--max-upload-mb", help="Largest accepted upload in MiB; larger ones get 413 and are not stored."),
        token: Optional[str] = typer.Option(None, "--token", envvar="AVCORR_SERVE_TOKEN", help="Required from clients on other machines (Authorization: Bearer TOKEN or ?token=TOKEN); local clients never need it."),
        allow_no_token: bool = typer.Option(False, "--allow-no-token", help="Listen on a non-loopback --host without a token (a network you trust)."),
    ) -> None:
        """Serve the upload page (/) and the API (/api/v1/scans) until Ctrl-C; scans and reports are kept in --data."""
        run(ServeOptions(data_dir=data, host=host, port=port, workers=workers, max_upload_mb=max_upload_mb,
                         token=token or None, allow_no_token=allow_no_token))
