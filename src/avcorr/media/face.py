"""Face tracking with MediaPipe: find the talking face, follow it, give its 478 mesh landmarks.

Per frame, the short-range face detector runs on a frame scaled to at most ``detect_max_side``
pixels; when it sees nothing the full-range model (small or distant faces) gets a try before the
frame counts as faceless. Detections are linked into face tracks by overlap. For each track the
face mesh runs on a square region around its box (scaled to ``region_size`` pixels), which keeps
the mesh fast on 4K frames and lets it see small faces. At the end the main face is chosen —
the one that is present longest, largest, steadiest and whose lips move most (the talker) — its
missing frames are interpolated and its box is smoothed over time.

Reduced rate (``mesh_every`` k > 1): the mesh runs on every k-th frame only (and at once on a
frame after a miss, and on the clip's last frame); the landmarks of the frames between are
linearly interpolated, and those frames count as found when both neighbouring mesh frames saw the
face. The outputs keep their per-frame shapes. The mesh is most of tracking's cost, so k = 2 about
halves it.

Streaming use (bounded memory for long files): ``add(frame)`` per frame, then ``finish()``;
with ``keep_regions`` the tracker keeps each track's grayscale region per frame, so the crops
can be cut after smoothing without keeping the frames (:mod:`avcorr.media.crops`). Past
:data:`REGIONS_IN_MEMORY` frames a track's regions go to an unnamed temporary file
(:class:`RegionStore`), so a long video's regions (65 kB a frame) do not grow the process.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from avcorr.errors import InputError
from avcorr.media.landmarks import CHIN, FOREHEAD, LIP_LOWER_INNER, LIP_UPPER_INNER, NUM_LANDMARKS

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's C++ start-up chatter (absl/TFLite write straight to fd 2)."""
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. some notebook kernels): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


#: Regions a track holds in memory (65 kB each at 256 px) before further ones go to a temporary file.
REGIONS_IN_MEMORY = 500


class RegionStore:
    """One track's gray regions in frame order: the first ``in_memory`` in memory, the rest
    appended to an unnamed temporary file and read back one at a time (exact bytes), so memory
    stays bounded however long the video. The file goes when the store is garbage-collected."""

    def __init__(self, in_memory: int = REGIONS_IN_MEMORY) -> None:
        self.in_memory = int(in_memory)
        self._memory: list[np.ndarray] = []
        self._file: "tempfile._TemporaryFileWrapper | None" = None  # type: ignore[name-defined]
        self._spilled = 0
        self._unflushed = False
        self.shape: tuple[int, ...] = ()
        self.last: np.ndarray | None = None

    def append(self, region: np.ndarray) -> None:
        region = np.ascontiguousarray(region, dtype=np.uint8)
        if not self.shape:
            self.shape = region.shape
        elif region.shape != self.shape:
            raise ValueError(f"region of shape {region.shape} in a store of {self.shape}")
        if len(self._memory) < self.in_memory:
            self._memory.append(region)
        else:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="avcorr-regions-")
            self._file.write(region.tobytes())
            self._spilled += 1
            self._unflushed = True
        self.last = region

    def __len__(self) -> int:
        return len(self._memory) + self._spilled

    def get(self, index: int) -> np.ndarray:
        """Region ``index`` (0-based, in append order)."""
        if not 0 <= index < len(self):
            raise IndexError(f"region {index} of {len(self)}")
        if index < len(self._memory):
            return self._memory[index]
        assert self._file is not None
        if self._unflushed:
            self._file.flush()
            self._unflushed = False
        size = int(np.prod(self.shape))
        data = os.pread(self._file.fileno(), size, (index - len(self._memory)) * size)
        return np.frombuffer(data, np.uint8).reshape(self.shape)


class Regions:
    """A track's regions frame by frame, ``(T, R, R)``-like (``len``, ``shape``, ``[t]``, ``[a:]``):
    frame ``start + t`` shows stored region ``t + start - pad``, held at the ends (the frames before
    the track began show its first region, those after it died its last)."""

    def __init__(self, store: RegionStore, pad: int, total: int, start: int = 0) -> None:
        self.store, self.pad, self.total, self.start = store, int(pad), int(total), int(start)

    def __len__(self) -> int:
        return self.total - self.start

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.store.shape)

    def __getitem__(self, key: int | slice) -> "np.ndarray | Regions":
        if isinstance(key, slice):
            first, stop, step = key.indices(len(self))
            if step != 1 or stop != len(self):
                raise IndexError("regions slice only as [a:]")
            return Regions(self.store, self.pad, self.total, self.start + first)
        index = int(key) + len(self) if int(key) < 0 else int(key)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {key} of {len(self)}")
        stored = min(max(self.start + index - self.pad, 0), len(self.store) - 1)
        return self.store.get(stored)

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        out = np.stack([self[i] for i in range(len(self))])  # type: ignore[misc]
        return out if dtype is None else out.astype(dtype)


@dataclass
class TrackerOptions:
    """Knobs of :class:`FaceTracker`. Sizes in pixels, times in frames.

    ``detect_every``: run the face detector every n-th frame while the mesh follows every face
    (at once whenever a face is lost), so that new faces are still noticed. ``mesh_every``: run
    the face mesh on every n-th frame and interpolate the landmarks between (1: every frame).
    """

    min_confidence: float = 0.5
    detect_max_side: int = 640
    max_faces: int = 3
    region_scale: float = 1.9
    region_size: int = 256
    box_scale: float = 1.25
    smoothing_frames: float = 1.5
    detect_every: int = 5
    mesh_every: int = 1
    keep_regions: bool = False


@dataclass
class FaceTrack:
    """The main face of a clip, one entry per frame.

    ``boxes (T, 4)`` float32 x0, y0, x1, y1 of the smoothed square face box in source pixels;
    ``found (T,)`` bool, the face mesh saw the face in that frame (other frames interpolated);
    ``landmarks (T, 478, 3)`` float32 in source pixels (z scaled like x), NaN-free.
    ``num_faces``: faces followed for a meaningful part of the clip (1 for a single speaker).
    ``regions (T, R, R)`` uint8 gray (a :class:`Regions` view, or an array) and ``region_boxes (T, 4)``
    source pixels when the tracker kept them; ``span`` = [first, last + 1) frames for which the main face's regions exist.
    """

    boxes: np.ndarray
    found: np.ndarray
    landmarks: np.ndarray
    frame_size: tuple[int, int]
    num_faces: int = 1
    detector: str = "short"
    regions: "np.ndarray | Regions | None" = None
    region_boxes: np.ndarray | None = None
    span: tuple[int, int] = (0, 0)

    @property
    def num_frames(self) -> int:
        return int(self.boxes.shape[0])

    @property
    def found_fraction(self) -> float:
        return float(self.found.mean()) if self.found.size else 0.0


@dataclass
class _Track:
    """One face followed through the clip (internal)."""

    ident: int
    start: int
    box: np.ndarray  # last known box, source pixels
    last_seen: int
    mesh: object = None
    landmarks: dict[int, np.ndarray] = field(default_factory=dict)
    regions: RegionStore = field(default_factory=RegionStore)
    region_boxes: list[np.ndarray] = field(default_factory=list)
    detected: int = 0
    #: frames the face counts as seen: mesh hits plus the frames skipped right after one (``mesh_every``)
    covered: int = 0
    #: whether the last mesh run saw the face
    hit: bool = False
    #: (frame index, RGB region, x0, y0, side) of the last frame skipped, meshed in ``finish`` if it ends the clip
    pending: tuple | None = None


class FaceTracker:
    """Follow the main face through a clip. One instance per worker (MediaPipe graphs are not shared)."""

    def __init__(self, options: TrackerOptions | None = None, **overrides: object) -> None:
        import mediapipe as mp

        self.options = options or TrackerOptions()
        for key, value in overrides.items():
            setattr(self.options, key, value)
        self._mp = mp
        with quiet_native_stderr():
            self._short = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=self.options.min_confidence)
            self._full = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=self.options.min_confidence)
            blank = np.zeros((64, 64, 3), np.uint8)
            self._short.process(blank)
            self._full.process(blank)
        self.reset()

    # ---------------------------------------------------------------- streaming interface

    def reset(self) -> None:
        for track in getattr(self, "_tracks", []):
            if track.mesh is not None:
                track.mesh.close()
        self._tracks: list[_Track] = []
        self._t = 0
        self._size: tuple[int, int] = (0, 0)
        self._short_misses = 0
        self._used_full = False

    def track(self, frames_rgb: np.ndarray, path: str = "<frames>") -> FaceTrack:
        """Track the main face through ``frames_rgb (T, H, W, 3)`` uint8 RGB."""
        self.reset()
        for frame in frames_rgb:
            self.add(frame)
        return self.finish(path)

    def add(self, frame_rgb: np.ndarray) -> None:
        """Process the next frame (RGB uint8, source resolution)."""
        h, w = frame_rgb.shape[:2]
        self._size = (h, w)
        alive = [tr for tr in self._tracks if self._t - tr.last_seen <= 25]
        # Between detections the mesh follows each face; detect again on schedule, or at once
        # when a face was lost (or none is followed yet).
        steady = alive and all(tr.hit for tr in alive)
        if not steady or self._t % max(1, self.options.detect_every) == 0:
            matched = self._associate(alive, self._detect(frame_rgb))
            for track, box in matched:
                track.box = box
                track.last_seen = self._t
                track.detected += 1
        live = [tr for tr in self._tracks if self._t - tr.last_seen <= 25]
        for track in live:
            self._mesh_step(track, frame_rgb)
        self._drop_duplicates(live)
        self._t += 1

    def _drop_duplicates(self, live: list[_Track]) -> None:
        """Two tracks on one face (a detection that jumped): the one with less history stops."""
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if a.last_seen == b.last_seen == self._t and _iou(a.box, b.box) > 0.6:
                    loser = a if len(a.landmarks) < len(b.landmarks) else b
                    loser.last_seen = -10**9

    def finish(self, path: str = "<frames>") -> FaceTrack:
        """Choose the main face, interpolate its gaps, smooth its box; raise if no face was seen."""
        total = self._t
        for track in self._tracks:  # reduced rate: the clip's last frame gets its own mesh (no extrapolation)
            if track.pending is not None and track.pending[0] == total - 1:
                track.covered -= 1  # counted when skipped; the mesh counts it again on a hit
                self._mesh_region(track, *track.pending)
            track.pending = None
        candidates = [tr for tr in self._tracks if tr.landmarks]
        if not candidates:
            detectors = "short- and full-range detectors" if self._used_full else "face detector"
            raise InputError(path, f"no face found in {total} frames ({detectors})", stage="track")
        scores = {tr.ident: self._score(tr, total) for tr in candidates}
        main = max(candidates, key=lambda tr: scores[tr.ident])
        substantial = [tr for tr in candidates if tr.covered >= 0.2 * total]
        track = self._build(main, total, num_faces=max(1, len(substantial)))
        self.reset()
        return track

    # ---------------------------------------------------------------- internals

    def _detect(self, frame_rgb: np.ndarray) -> list[np.ndarray]:
        import cv2

        h, w = frame_rgb.shape[:2]
        scale = min(1.0, self.options.detect_max_side / max(h, w))
        small = frame_rgb if scale == 1.0 else cv2.resize(frame_rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        order = (self._full, self._short) if self._short_misses >= 5 else (self._short, self._full)
        for detector in order:
            result = detector.process(small)
            if detector is self._full:
                self._used_full = True
            if result.detections:
                if detector is self._short:
                    self._short_misses = 0
                else:
                    self._short_misses += 1
                boxes = []
                for det in result.detections[: self.options.max_faces]:
                    rel = det.location_data.relative_bounding_box
                    boxes.append(np.array([rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h], np.float32))
                return boxes
        return []

    def _associate(self, tracks: list[_Track], boxes: list[np.ndarray]) -> list[tuple[_Track, np.ndarray]]:
        pairs = sorted(((_iou(tr.box, b), i, j) for i, tr in enumerate(tracks) for j, b in enumerate(boxes)), reverse=True)
        used_t, used_b, matched = set(), set(), []
        for iou, i, j in pairs:
            if iou < 0.2 or i in used_t or j in used_b:
                continue
            used_t.add(i)
            used_b.add(j)
            matched.append((tracks[i], boxes[j]))
        for j, box in enumerate(boxes):
            if j not in used_b and len(self._tracks) < 4 * self.options.max_faces:
                track = _Track(ident=len(self._tracks), start=self._t, box=box, last_seen=self._t)
                self._tracks.append(track)
        return matched

    def _mesh_step(self, track: _Track, frame_rgb: np.ndarray) -> None:
        import cv2

        opts = self.options
        x0, y0, x1, y1 = track.box
        side = max(x1 - x0, y1 - y0) * opts.region_scale
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx0, ry0 = cx - side / 2, cy - side / 2
        k = opts.region_size / side
        affine = np.array([[k, 0, -rx0 * k], [0, k, -ry0 * k]], np.float32)
        region = cv2.warpAffine(frame_rgb, affine, (opts.region_size, opts.region_size), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        every = max(1, int(opts.mesh_every))
        if every > 1 and track.hit and self._t % every and self._t != track.last_seen:
            track.covered += 1  # a skipped frame between mesh frames: interpolated in _build
            track.pending = (self._t, region, rx0, ry0, side)
        else:
            track.pending = None
            self._mesh_region(track, self._t, region, rx0, ry0, side)
        if opts.keep_regions:
            g_region = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
            while len(track.regions) < self._t - track.start:  # frames the track skipped: keep indices aligned
                track.regions.append(track.regions.last if track.regions.last is not None else g_region)
                track.region_boxes.append(track.region_boxes[-1] if track.region_boxes else np.array([rx0, ry0, rx0 + side, ry0 + side], np.float32))
            track.regions.append(g_region)
            track.region_boxes.append(np.array([rx0, ry0, rx0 + side, ry0 + side], np.float32))

    def _mesh_region(self, track: _Track, t: int, region: np.ndarray, rx0: float, ry0: float, side: float) -> None:
        """Run ``track``'s face mesh on its RGB ``region`` of frame ``t`` (placed at ``rx0, ry0``,
        ``side`` source pixels wide); on a hit, store the landmarks and follow the face's box."""
        opts = self.options
        if track.mesh is None:
            with quiet_native_stderr():
                track.mesh = self._mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True, min_detection_confidence=opts.min_confidence, min_tracking_confidence=0.5)
                result = track.mesh.process(region)
        else:
            result = track.mesh.process(region)
        track.hit = bool(result.multi_face_landmarks)
        if result.multi_face_landmarks:
            pts = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float32)
            pts[:, 0] = rx0 + pts[:, 0] * side
            pts[:, 1] = ry0 + pts[:, 1] * side
            pts[:, 2] = pts[:, 2] * side
            track.landmarks[t] = pts
            track.covered += 1
            # Follow the mesh between detections: it is steadier than the detector's box.
            lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
            if t != track.last_seen:
                c, s = (lo + hi) / 2, (hi - lo).max() * 0.9
                track.box = np.array([c[0] - s / 2, c[1] - s / 2, c[0] + s / 2, c[1] + s / 2], np.float32)
                track.last_seen = t

    def _score(self, track: _Track, total: int) -> float:
        """Main-face score: presence × size × (1 + lip motion) / (1 + jitter)."""
        idx = sorted(track.landmarks)
        pts = np.stack([track.landmarks[i] for i in idx])
        h, w = self._size
        heights = np.linalg.norm(pts[:, FOREHEAD, :2] - pts[:, CHIN, :2], axis=1) + 1e-6
        coverage = track.covered / max(total, 1)
        size = float(np.median(heights)) / max(h, w)
        opening = np.linalg.norm(pts[:, LIP_UPPER_INNER, :2] - pts[:, LIP_LOWER_INNER, :2], axis=1) / heights
        talk = min(float(opening.std()) / 0.02, 2.0) if len(idx) > 2 else 0.0
        centres = pts[:, :, :2].mean(1)
        steps = np.diff(np.asarray(idx, dtype=np.float64))  # per frame, also between reduced-rate mesh frames
        jitter = float(np.median(np.linalg.norm(np.diff(centres, axis=0), axis=1) / heights[1:] / steps)) if len(idx) > 2 else 0.0
        return coverage * np.sqrt(size) * (1.0 + talk) / (1.0 + 5.0 * jitter)

    def _build(self, track: _Track, total: int, num_faces: int) -> FaceTrack:
        from scipy.ndimage import gaussian_filter1d

        idx = np.array(sorted(track.landmarks))
        known = np.stack([track.landmarks[i] for i in idx])
        found = np.zeros(total, bool)
        found[idx] = True
        every = max(1, int(self.options.mesh_every))
        for a, b in zip(idx[:-1], idx[1:]):  # frames skipped between two mesh hits (reduced rate) count as seen
            if 1 < b - a <= every:
                found[a:b] = True
        landmarks = interpolate_frames(idx, known, total)
        lo, hi = landmarks[:, :, :2].min(1), landmarks[:, :, :2].max(1)
        centre = (lo + hi) / 2
        side = (hi - lo).max(1) * self.options.box_scale
        if self.options.smoothing_frames > 0 and total > 1:
            centre = gaussian_filter1d(centre, self.options.smoothing_frames, axis=0, mode="nearest")
            side = gaussian_filter1d(side, self.options.smoothing_frames * 2, mode="nearest")
        boxes = np.concatenate([centre - side[:, None] / 2, centre + side[:, None] / 2], axis=1).astype(np.float32)
        regions = region_boxes = None
        span = (track.start, total)
        if self.options.keep_regions and len(track.regions):
            rb = track.region_boxes
            while len(rb) < total - track.start:  # the track died before the end: hold its last region
                rb.append(rb[-1])
            pad = track.start
            regions = Regions(track.regions, pad, total)  # frames before the track began: its first region
            region_boxes = np.stack([rb[0]] * pad + rb) if pad else np.stack(rb)
        return FaceTrack(
            boxes=boxes,
            found=found,
            landmarks=landmarks,
            frame_size=self._size,
            num_faces=num_faces,
            detector="full" if self._used_full else "short",
            regions=regions,
            region_boxes=region_boxes,
            span=span,
        )

    def close(self) -> None:
        self.reset()
        self._short.close()
        self._full.close()


def interpolate_frames(idx: np.ndarray, known: np.ndarray, total: int, chunk: int = 2048) -> np.ndarray:
    """``(total, ...)`` float32: ``known[k]`` at frame ``idx[k]`` (sorted), linear in between, held
    before the first and after the last; built in chunks of frames (no float64 copy of the clip)."""
    known = np.asarray(known, dtype=np.float32)
    out = np.empty((total, *known.shape[1:]), np.float32)
    idx = np.asarray(idx)
    for a in range(0, total, chunk):
        frames = np.arange(a, min(a + chunk, total))
        hi = np.clip(np.searchsorted(idx, frames), 0, len(idx) - 1)
        lo = np.clip(hi - 1, 0, len(idx) - 1)
        exact = idx[hi] == frames
        lo[exact] = hi[exact]
        span = (idx[hi] - idx[lo]).astype(np.float32)
        w = np.clip(np.where(span > 0, (frames - idx[lo]) / np.maximum(span, 1), 0.0), 0.0, 1.0).astype(np.float32)
        w = w.reshape(-1, *([1] * (known.ndim - 1)))
        out[a:a + len(frames)] = known[lo] + w * (known[hi] - known[lo])
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
