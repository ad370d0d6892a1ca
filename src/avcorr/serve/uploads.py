"""Receiving one uploaded video: streamed to disk, counted, refused at the size limit.

The request body (``multipart/form-data``: a ``file`` part and an optional ``detector`` field) is
parsed as it arrives (python-multipart's streaming parser) and the file part is written to a
temporary file in ``uploads/.incoming/``. A ``Content-Length`` above the limit is refused before
a byte is read; a body without one (chunked) is counted while it streams and refused the moment
the file passes the limit, its partial file deleted. Nothing over the limit is ever stored.

The client's file name is only a display string: the stored file is named by the scan id
(:func:`stored_name`), so ``../../x.mp4`` cannot leave the data directory.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from avcorr.media.decode import VIDEO_EXTENSIONS

#: Room for the multipart framing and small fields around the file, in bytes.
FRAMING_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024
MAX_NAME_CHARS = 255
FALLBACK_SUFFIX = ".bin"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadTooLarge(Exception):
    """The body is over the limit (the message says which limit)."""


class BadUpload(Exception):
    """The body is not a usable upload (not multipart, no ``file`` part, ...); one line."""


@dataclass
class Upload:
    """A received file: ``temporary`` (to be moved to its stored name), the client's ``name``
    (display only), its ``size`` in bytes and the small text ``fields`` sent with it."""

    temporary: Path
    name: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def display_name(raw: str | None) -> str:
    """The client's file name as shown: control characters removed, at most 255 characters
    (``upload`` when empty). Never used to build a path."""
    name = _CONTROL.sub("", raw or "").strip()
    return name[:MAX_NAME_CHARS] or "upload"


def stored_name(scan_id: str, client_name: str) -> str:
    """``<id><suffix>``: the client's suffix when it is a known video one, else ``.bin``."""
    suffix = os.path.splitext(client_name)[1].lower()
    return scan_id + (suffix if suffix in VIDEO_EXTENSIONS else FALLBACK_SUFFIX)


async def receive_upload(content_type: str, content_length: str | None, body: AsyncIterator[bytes],
                         incoming: Path, max_bytes: int) -> Upload:
    """Stream a multipart body into ``incoming``; :class:`UploadTooLarge` when the file exceeds
    ``max_bytes`` (or the declared length exceeds it plus :data:`FRAMING_BYTES`),
    :class:`BadUpload` when the body is not a form with a ``file`` part."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise BadUpload("send the video as multipart/form-data with a 'file' part")
    limit_text = f"the upload limit is {max_bytes / 2**20:.0f} MB"
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise BadUpload("bad Content-Length header") from None
        if declared > max_bytes + FRAMING_BYTES:
            raise UploadTooLarge(f"{declared} bytes declared; {limit_text}")
    incoming.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(incoming, max_bytes, limit_text)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())
    total = 0
    try:
        async for chunk in body:
            total += len(chunk)
            if total > max_bytes + FRAMING_BYTES:
                raise UploadTooLarge(f"more than {max_bytes + FRAMING_BYTES} bytes sent; {limit_text}")
            parser.write(chunk)
            receiver.check()
        parser.finalize()
        receiver.check()
        if receiver.file_path is None or not receiver.file_done:
            raise BadUpload("the form has no complete 'file' part")
        return Upload(temporary=receiver.file_path, name=display_name(receiver.file_name), size=receiver.file_size,
                      fields=receiver.fields)
    except BaseException as error:
        receiver.discard()
        if isinstance(error, Exception) and not isinstance(error, (UploadTooLarge, BadUpload)):
            raise BadUpload(f"malformed multipart body ({type(error).__name__})") from None
        raise
    finally:
        receiver.close()


class _Receiver:
    """python-multipart callbacks: headers of each part, the file part to disk, small fields to memory."""

    def __init__(self, incoming: Path, max_bytes: int, limit_text: str) -> None:
        self.incoming, self.max_bytes, self.limit_text = incoming, max_bytes, limit_text
        self.fields: dict[str, str] = {}
        self.file_path: Path | None = None
        self.file_name: str | None = None
        self.file_size = 0
        self.file_done = False
        self.error: Exception | None = None
        self._out = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._part: str | None = None  # "file", a field name, or None (ignored)
        self._value = bytearray()

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._field, "on_header_value": self._header,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
                "on_part_data": self._data, "on_part_end": self._end}

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def _begin(self) -> None:
        self._headers, self._part, self._value = {}, None, bytearray()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file" and self.file_path is None:
            self._part = "file"
            self.file_name = options.get(b"filename", b"").decode("utf-8", "replace")
            handle, path = tempfile.mkstemp(dir=self.incoming, suffix=".part")
            self._out = os.fdopen(handle, "wb")
            self.file_path = Path(path)
        elif name and name != "file":
            self._part = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None or self._part is None:
            return
        if self._part == "file":
            self.file_size += end - start
            if self.file_size > self.max_bytes:
                self.error = UploadTooLarge(f"the file is over {self.max_bytes} bytes; {self.limit_text}")
                return
            self._out.write(data[start:end])
        elif len(self._value) + end - start <= MAX_FIELD_BYTES:
            self._value += data[start:end]
        else:
            self.error = BadUpload(f"form field {self._part[:40]!r} is longer than {MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        if self._part == "file" and self._out is not None:
            self._out.close()
            self._out = None
            self.file_done = True
        elif self._part is not None:
            self.fields[self._part] = self._value.decode("utf-8", "replace")
        self._part = None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def discard(self) -> None:
        self.close()
        if self.file_path is not None:
            self.file_path.unlink(missing_ok=True)
