"""Contact sheets: for each method, source frames beside forged ones, with mouth close-ups.

One PNG per method, one row per forgery: source frame | forged frame | source mouth | forged
mouth | amplified difference. The frame shown is the one where the forgery differs most.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROW_HEIGHT = 192


@dataclass
class PreviewFrame:
    clip_id: str
    frame_index: int
    source: np.ndarray  # (H, W, 3) RGB
    forged: np.ndarray
    mouth_box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 source pixels


def write_contact_sheet(path: str | Path, title: str, picks: list[PreviewFrame]) -> Path:
    """Write the sheet as PNG and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [_row(p) for p in picks]
    width = max(r.shape[1] for r in rows) if rows else 480
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=32) for r in rows]
    header = np.full((28, width, 3), 24, dtype=np.uint8)
    cv2.putText(header, f"{title}: source | forged | source mouth | forged mouth | |diff| x4", (6, 19),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (240, 240, 240), 1, cv2.LINE_AA)
    sheet = np.vstack([header] + rows) if rows else header
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path


def _row(pick: PreviewFrame) -> np.ndarray:
    h, w = pick.source.shape[:2]
    box = pick.mouth_box or (int(w * 0.3), int(h * 0.55), int(w * 0.7), int(h * 0.9))
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 - x0 < 2 or y1 - y0 < 2:
        x0, y0, x1, y1 = 0, 0, w, h
    diff = np.clip(np.abs(pick.forged.astype(np.int16) - pick.source.astype(np.int16)) * 4, 0, 255).astype(np.uint8)
    tiles = [pick.source, pick.forged, pick.source[y0:y1, x0:x1], pick.forged[y0:y1, x0:x1], diff]
    scaled = [_fit(t, ROW_HEIGHT) for t in tiles]
    row = np.hstack([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=32) for t in scaled])
    cv2.putText(row, f"{pick.clip_id} @ frame {pick.frame_index}", (4, ROW_HEIGHT - 6), cv2.FONT_HERSHEY_SIMPLEX,
                0.4, (255, 255, 0), 1, cv2.LINE_AA)
    return row


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    width = max(1, int(round(w * height / h)))
    interp = cv2.INTER_NEAREST if h < height // 2 else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interp)
