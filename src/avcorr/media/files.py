"""Opening a media file: the one place that says truthfully why a path cannot be read.

A missing file, a symbolic link loop, a FIFO, a character device such as ``/dev/zero``, a file
without read permission and a file FFmpeg cannot parse each get their own one-line reason
(:class:`~avcorr.errors.InputError`, stage ``decode``). Special files are refused from their
``stat`` alone, so a FIFO with no writer never blocks the reader.

Resource errors (out of memory, FFmpeg's ``EAGAIN``) are not a property of the file; they too
become an ``InputError`` with their own reason (:func:`resource_error`), never a silent
truncation of the clip.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from avcorr.errors import InputError

_OS_REASONS = {
    errno.ENOENT: "file not found",
    errno.ELOOP: "symbolic link loop (the link points back at itself)",
    errno.EACCES: "not readable (permission denied)",
    errno.EPERM: "not readable (operation not permitted)",
    errno.ENAMETOOLONG: "file name too long for the file system",
    errno.ENOTDIR: "a folder in the path is a file",
    errno.EIO: "input/output error while reading",
    errno.ENOMEM: "out of memory",
    errno.EAGAIN: "resource temporarily unavailable (EAGAIN: out of memory or threads?)",
}

_SPECIAL_FILES = (
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a media file"),
    (stat.S_ISCHR, "is a character device, not a media file"),
    (stat.S_ISBLK, "is a block device, not a media file"),
    (stat.S_ISSOCK, "is a socket, not a media file"),
)


def os_error_reason(exc: OSError) -> str:
    """A one-line reason for an ``OSError`` met while opening or reading a file."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or exc.__class__.__name__)


def check_media_file(path: str | Path) -> Path:
    """``path`` if it is a regular, non-empty, readable file; else an ``InputError`` saying why.

    Never opens a special file (a FIFO would block until a writer came).
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise InputError(path, "broken symbolic link (its target does not exist)", stage="decode") from None
        raise InputError(path, os_error_reason(exc), stage="decode") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a folder, not a media file", stage="decode")
    for is_kind, reason in _SPECIAL_FILES:
        if is_kind(info.st_mode):
            raise InputError(path, reason, stage="decode")
    if info.st_size == 0:
        raise InputError(path, "file is empty (0 bytes)", stage="decode")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(path, os_error_reason(exc), stage="decode") from None
    return path


def describe_error(exc: BaseException) -> str:
    """FFmpeg's own words for an error, without errno numbers or file paths."""
    text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return text.split(": '")[0].strip()


def is_resource_error(exc: BaseException) -> bool:
    """True for errors that say the machine, not the file, ran short (memory, ``EAGAIN``)."""
    if isinstance(exc, MemoryError):  # Python's own and PyAV's av.error.MemoryError (ENOMEM)
        return True
    return isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.ENOMEM)


def resource_error(path: str | Path, exc: BaseException, doing: str = "decoding") -> InputError:
    """The ``InputError`` for a resource error met while ``doing`` something with ``path``."""
    if isinstance(exc, MemoryError):
        reason = f"out of memory while {doing} ({describe_error(exc) or 'MemoryError'})"
    else:
        reason = f"resource exhausted while {doing} ({describe_error(exc)}; out of memory or threads?)"
    return InputError(path, reason, stage="decode")


def open_container(path: str | Path):
    """An ``av`` input container for ``path`` (close it, or use it in ``with``)."""
    import av

    path = check_media_file(path)
    try:
        return av.open(str(path), metadata_errors="ignore")
    except Exception as exc:  # PyAV raises a zoo of FFmpeg errors; all but resources mean "unreadable"
        if is_resource_error(exc):
            raise resource_error(path, exc, "opening") from None
        raise InputError(path, f"not a readable media file ({describe_error(exc)})", stage="decode") from None
