"""The web app (Starlette): the JSON API, the report pages and the upload page (docs/serve.md).

- ``POST /api/v1/scans`` — multipart ``file`` (+ optional ``detector``) → 202 ``{"id": ...}``;
  413 over the upload limit (nothing stored), 400 for a body that is not such a form.
- ``GET /api/v1/scans/{id}`` — ``{"status", "result", "error", ...}``; ``result`` is the detect
  JSON verdict (schema v2) whose ``path`` is the client's file name.
- ``GET /api/v1/scans`` — newest first; ``name`` (substring), ``band``, ``status``, ``since``,
  ``until`` (ISO dates/datetimes, UTC), ``limit`` (≤ 200), ``offset``.
- ``GET /api/v1/health``; ``GET /scans/{id}/report`` — the ``detect --report`` page; ``GET /``.
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import avcorr
from avcorr.detect.report import REPORT_NAME
from avcorr.errors import ConfigError
from avcorr.serve.access import TokenGuard, same_origin
from avcorr.serve.detection import DEFAULT_DETECTOR, check_detector, detector_names
from avcorr.serve.queue import ScanQueue
from avcorr.serve.store import STATUSES, Scan, ScanQuery, ScanStore
from avcorr.serve.uploads import BadUpload, UploadTooLarge, receive_upload, stored_name

API = "/api/v1"
SCHEMA_VERSION = 2
MAX_PAGE = 200
PAGE_FILE = Path(__file__).with_name("page.html")
_SCAN_ID = re.compile(r"^[0-9a-f]{32}$")


def scan_summary(scan: Scan) -> dict[str, Any]:
    """A scan as the list shows it: no per-frame verdict, the band, score and false-alarm rate."""
    result = scan.result or {}
    return {"id": scan.id, "name": scan.name, "status": scan.status, "detector": scan.detector,
            "band": scan.band, "score": scan.score, "false_alarm_rate": result.get("false_alarm_rate"),
            "error": scan.error, "size_bytes": scan.size_bytes, "created": scan.created, "finished": scan.finished,
            "report_url": f"/scans/{scan.id}/report" if scan.status in ("done", "failed") else None}


def scan_document(scan: Scan) -> dict[str, Any]:
    """A scan as ``GET /api/v1/scans/{id}`` returns it: the summary plus the whole verdict."""
    return {**scan_summary(scan), "schema_version": SCHEMA_VERSION, "result": scan.result}


def create_app(store: ScanStore, queue: ScanQueue, max_upload_bytes: int, token: str | None = None,
               detectors: list[str] | None = None, workers: int = 1) -> Any:
    """The ASGI app over ``store`` and ``queue``; on startup it re-queues what :meth:`ScanStore.recover`
    returns and starts the queue, on shutdown it stops it. ``detectors``: the names a client may
    ask for (default: :func:`avcorr.serve.detection.detector_names`)."""
    known = detectors
    page = PAGE_FILE.read_text(encoding="utf-8")

    def names() -> list[str]:
        nonlocal known
        if known is None:
            known = detector_names()
        return known

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        queue.start()
        for scan_id in store.recover():
            queue.submit(scan_id)
        try:
            yield
        finally:
            queue.stop()

    async def index(_: Request) -> Response:
        return HTMLResponse(page)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": avcorr.__version__, "workers": workers,
                             "detectors": names(), "default_detector": DEFAULT_DETECTOR,
                             "max_upload_mb": max_upload_bytes / 2**20, "scans": store.counts()})

    async def create_scan(request: Request) -> Response:
        if not same_origin(request.headers.get("origin"), request.headers.get("host")):
            return _error(403, "uploads are accepted from this server's own page only")
        try:
            upload = await receive_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                                          request.stream(), store.uploads / ".incoming", max_upload_bytes)
        except UploadTooLarge as error:
            return _error(413, f"upload refused: {error}")
        except BadUpload as error:
            return _error(400, str(error))
        try:
            detector = check_detector(upload.fields.get("detector"), names())
        except ConfigError as error:
            upload.discard()
            return _error(400, str(error))
        scan_id = store.new_id()
        path = store.uploads / stored_name(scan_id, upload.name)
        os.replace(upload.temporary, path)
        store.add(scan_id, upload.name, path, detector, upload.size)
        queue.submit(scan_id)
        return JSONResponse({"id": scan_id, "status": "queued", "url": f"{API}/scans/{scan_id}"}, status_code=202,
                            headers={"Location": f"{API}/scans/{scan_id}"})

    async def get_scan(request: Request) -> Response:
        scan = _find(store, request.path_params["scan_id"])
        return _error(404, "no such scan") if scan is None else JSONResponse(scan_document(scan))

    async def list_scans(request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", 50))
            offset = int(params.get("offset", 0))
            if not 1 <= limit <= MAX_PAGE or offset < 0:
                raise ValueError
        except ValueError:
            return _error(400, f"limit must be 1..{MAX_PAGE} and offset >= 0")
        status = params.get("status") or None
        if status is not None and status not in STATUSES:
            return _error(400, f"status must be one of {', '.join(STATUSES)}")
        query = ScanQuery(name=params.get("name") or None, band=params.get("band") or None, status=status,
                          since=params.get("since") or None, until=params.get("until") or None,
                          limit=limit, offset=offset)
        try:
            scans, total = store.list(query)
        except ValueError:
            return _error(400, "since/until must be ISO dates (2026-12-05) or datetimes")
        return JSONResponse({"scans": [scan_summary(s) for s in scans], "total": total, "limit": limit,
                             "offset": offset})

    async def report(request: Request) -> Response:
        scan = _find(store, request.path_params["scan_id"])
        page_path = None if scan is None else store.reports / scan.id / REPORT_NAME
        if page_path is None or not page_path.is_file():
            return HTMLResponse("<!DOCTYPE html><title>no report</title><p>No report for this scan (yet).</p>",
                                status_code=404)
        return FileResponse(page_path, media_type="text/html; charset=utf-8")

    routes = [
        Route("/", index), Route(f"{API}/health", health),
        Route(f"{API}/scans", create_scan, methods=["POST"]), Route(f"{API}/scans", list_scans, methods=["GET"]),
        Route(f"{API}/scans/{{scan_id}}", get_scan), Route("/scans/{scan_id}/report", report),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return TokenGuard(app, token)


def _find(store: ScanStore, scan_id: str) -> Scan | None:
    return store.get(scan_id) if _SCAN_ID.match(scan_id) else None


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)
