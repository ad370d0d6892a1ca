"""prepare on the shared real clips (skipped where ../shared is absent)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from avcorr.prepare import pipeline as prep
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.manifest import ManifestRow
from avcorr.media.landmarks import LIPS_OUTER

pytestmark = pytest.mark.shared
QUICK = [
    "clips/rizkiarm+LipNet__evaluation__samples__GRID__bbaf2n.mpg",
    "clips/jixinya+EAMM__test__crop__M030_sad_3_001.mp4",  # 1080p, 30 fps, 48 kHz
    "clips/saifhassan+Wav2Lip-HD__examples__kennedy_low.mp4",  # 29.97 fps, 44.1 kHz
]


def _catalog(shared_data):
    with (shared_data / "catalog.csv").open() as handle:
        return list(csv.DictReader(handle))


def _check(record, fps=25.0):
    """What prepare promises for every clip it keeps (its own thresholds, not this corpus's values)."""
    t = record.num_frames
    a = record.arrays
    assert t >= 25
    assert a["mfcc"].shape == (4 * t, 13) and a["stft"].shape == (4 * t, 321)
    assert a["face_found"].mean() >= prep.PrepareOptions().min_face_fraction
    size = a["frames"].shape[1]
    lips = a["landmarks"][:, LIPS_OUTER, :2]
    assert np.median(lips[..., 1]) > size / 2  # the mouth sits in the lower half of the crop
    inside = (lips[..., 0] > 0) & (lips[..., 0] < size) & (lips[..., 1] > 0) & (lips[..., 1] < size)
    assert inside.mean() >= 0.99, inside.mean()
    extra = record.meta.extra
    if extra.get("truncated"):
        assert t == prep.PrepareOptions().max_frames
    else:  # frames before the main face appeared (start_s) are dropped; the rest lasts as long as the media
        shorter = min(extra["source_video_s"], extra["source_audio_s"])
        assert abs(extra.get("start_s", 0.0) + t / fps - shorter) <= 1 / fps + 1e-6, (t / fps, extra)
    assert np.isfinite(a["mfcc"]).all() and np.isfinite(a["stft"].astype(np.float32)).all()


def test_quick_clips_prepare_aligned_and_centred(shared_data):
    for name in QUICK:
        prepared = prep.prepare_clip(shared_data / name)
        _check(prepared.record)
        assert prepared.media.audio.size == prepared.record.num_frames * 640


@pytest.mark.slow
@pytest.mark.timeout(2400)  # the whole corpus (244 clips: 17 min on 2 loaded cores) grows with it
def test_every_shared_clip_prepares(shared_data, tmp_path):
    rows = [ManifestRow(clip_id=r["file"], video_path=str(shared_data / r["file"]), label=int(r["label"] == "fake"),
                        method="real" if r["label"] == "real" else r["generator"]) for r in _catalog(shared_data)]
    summary = prep.prepare_manifest(rows, tmp_path / "cache", workers=2)
    failed = [(o.clip_id, o.stage, o.reason) for o in summary.outcomes if o.status == "failed"]
    # a clip may fail only where its face cannot be followed (e.g. a FantasyTalking clip whose face is
    # found in 15% of frames), and then it is listed with its stage and reason, never lost
    assert all(stage == "track" and "face" in reason for _, stage, reason in failed), failed
    assert len(failed) <= len(rows) // 50, failed
    cache = ClipCache(tmp_path / "cache")
    assert len(cache) == len(rows) - len(failed)
    for path in cache.clip_files():
        _check(load_clip(path))
