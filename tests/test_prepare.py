"""prepare: broken inputs land in failures.csv with the right stage; resume, shards, labels, teachers."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avcorr.prepare import pipeline as prep
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.manifest import ManifestRow, write_manifest
from media_fixtures import StubTracker, index_frames, tone, write_media


@pytest.fixture
def stub_tracker(monkeypatch):
    monkeypatch.setattr(prep, "FaceTracker", StubTracker)


def _good(path: Path, seconds: float = 1.0) -> Path:
    return write_media(path, index_frames(int(25 * seconds), (64, 64)), tone(seconds))


def _rows(paths: dict[str, Path]) -> list[ManifestRow]:
    return [ManifestRow(clip_id=k, video_path=str(v), label=0) for k, v in paths.items()]


def _failures(root: Path) -> dict[str, dict[str, str]]:
    with (root / "failures.csv").open() as handle:
        return {r["clip_id"]: r for r in csv.DictReader(handle)}


def test_broken_inputs_each_fail_at_their_stage(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    good = write_media(media / "noface.mp4", index_frames(25, (64, 64)), tone(1.0))
    data = good.read_bytes()
    (media / "text.mp4").write_text("hello, not a video\n" * 50)
    (media / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (media / "corrupt.mp4").write_bytes(b"\x00" * 64 + data[64:])
    write_media(media / "noaudio.mkv", index_frames(25), None)
    write_media(media / "silent.mkv", index_frames(25), np.zeros(16000, np.float32))
    write_media(media / "audioonly.mkv", None, tone(1.0))
    write_media(media / "oneframe.mkv", index_frames(1), tone(1.0))
    expected = {"text": "decode", "truncated": "decode", "corrupt": "decode", "noaudio": "decode", "silent": "audio",
                "audioonly": "decode", "oneframe": "decode", "noface": "track"}
    rows = _rows({name: next(media.glob(f"{name}.*")) for name in expected})
    summary = prep.prepare_manifest(rows, tmp_path / "cache", workers=1)
    assert summary.failed == len(expected) and summary.done == 0
    failures = _failures(tmp_path / "cache")
    assert {k: v["stage"] for k, v in failures.items()} == expected
    assert "no audio track" in failures["noaudio"]["reason"]
    assert "silent" in failures["silent"]["reason"]
    assert "no video stream" in failures["audioonly"]["reason"]
    assert "no face" in failures["noface"]["reason"]
    assert all(v["reason"] for v in failures.values())


def test_cli_exits_nonzero_with_the_count_and_the_pool_records_failures(tmp_path):
    (tmp_path / "a.mp4").write_text("not a video")
    (tmp_path / "b.avi").write_bytes(b"RIFF\x00\x00")
    manifest = write_manifest(tmp_path / "m.csv", _rows({"a": tmp_path / "a.mp4", "b": tmp_path / "b.avi"}))
    result = subprocess.run([sys.executable, "-m", "avcorr.cli.main", "prepare", str(manifest), "--out", str(tmp_path / "c"),
                             "--workers", "2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "2 clip(s) failed" in result.stderr
    assert set(_failures(tmp_path / "c")) == {"a", "b"}


def test_resume_skips_done_clips_and_failures_leave_when_fixed(tmp_path, stub_tracker):
    paths = {"one": _good(tmp_path / "one.mp4"), "two": _good(tmp_path / "two.mkv"), "bad": tmp_path / "bad.mp4"}
    paths["bad"].write_text("broken")
    cache = tmp_path / "cache"
    first = prep.prepare_manifest(_rows(paths), cache, workers=1)
    assert (first.done, first.failed) == (2, 1)
    stamp = ClipCache(cache).path_for("one").stat().st_mtime_ns
    second = prep.prepare_manifest(_rows(paths), cache, workers=1)
    assert (second.done, second.skipped, second.failed) == (0, 2, 1)
    assert ClipCache(cache).path_for("one").stat().st_mtime_ns == stamp
    _good(paths["bad"])  # the user fixes the file
    third = prep.prepare_manifest(_rows(paths), cache, workers=1)
    assert (third.done, third.skipped, third.failed) == (1, 2, 0)
    assert _failures(cache) == {}
    with (cache / "manifest.csv").open() as handle:
        assert sorted(r["clip_id"] for r in csv.DictReader(handle)) == ["bad", "one", "two"]


def test_a_killed_run_restarts_without_redoing_or_losing_clips(tmp_path, stub_tracker):
    paths = {f"c{i}": _good(tmp_path / f"c{i}.mp4", 0.4) for i in range(4)}
    cache = tmp_path / "cache"

    def killed_after_two(items, total):
        for n, item in enumerate(items):
            yield item
            if n == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prep.prepare_manifest(_rows(paths), cache, workers=1, progress=killed_after_two)
    done_before = {p.name: p.stat().st_mtime_ns for p in ClipCache(cache).clip_files()}
    assert len(done_before) == 2
    with (cache / "manifest.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2  # rebuilt even though the run was interrupted
    assert not list((cache / "clips").glob(".tmp-*"))
    again = prep.prepare_manifest(_rows(paths), cache, workers=1)
    assert (again.done, again.skipped) == (2, 2)
    after = {p.name: p.stat().st_mtime_ns for p in ClipCache(cache).clip_files()}
    assert len(after) == 4 and all(after[k] == v for k, v in done_before.items())


def test_shards_partition_the_manifest():
    ids = [f"clip{i}" for i in range(200)]
    shards = [{c for c in ids if prep.in_shard(c, (i, 3))} for i in (1, 2, 3)]
    assert set.union(*shards) == set(ids)
    assert sum(len(s) for s in shards) == len(ids)
    assert all(40 < len(s) < 95 for s in shards)
    assert prep.parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x"):
        with pytest.raises(Exception):
            prep.parse_shard(bad)


def test_record_arrays_labels_and_alignment(tmp_path, stub_tracker):
    video = _good(tmp_path / "v.mp4", 2.0)
    row = ManifestRow(clip_id="partial", video_path=str(video), label=1, method="lip-rewrite", fake_start_s=0.5, fake_end_s=1.0)
    prepared = prep.prepare_clip(video, meta=row, options=prep.PrepareOptions(face_size=32, mouth_size=24))
    record = prepared.record
    t = record.num_frames
    assert t == 50
    assert record.arrays["frames"].shape == (t, 32, 32) and record.arrays["mouth"].shape == (t, 24, 24)
    assert record.arrays["mfcc"].shape == (4 * t, 13) and record.arrays["stft"].shape == (4 * t, 321)
    assert record.arrays["landmarks"].shape == (t, 478, 3)
    labels = record.arrays["frame_labels"]
    assert labels.tolist() == [0] * 12 + [1] * 13 + [0] * 25  # frame centres (t + 0.5) / 25 in [0.5, 1.0)
    assert prepared.media.audio.size == t * 640
    assert record.meta.method == "lip-rewrite" and record.meta.fake_window == [0.5, 1.0]
    assert record.meta.extra["truncated"] is False


def test_max_frames_cuts_and_says_so(tmp_path, stub_tracker):
    video = _good(tmp_path / "long.mp4", 3.0)
    prepared = prep.prepare_clip(video, options=prep.PrepareOptions(max_frames=30))
    assert prepared.record.num_frames == 30
    assert prepared.record.meta.extra["truncated"] is True
    assert prepared.record.meta.extra["source_video_s"] == pytest.approx(3.0, abs=0.05)
    exact = prep.prepare_clip(_good(tmp_path / "exact.mp4", 1.0), options=prep.PrepareOptions(max_frames=25))
    assert exact.record.num_frames == 25 and exact.record.meta.extra["truncated"] is False


class FakeTeacher:
    name = "fake"
    vocabulary = ["a", "b", "c"]

    def posteriors(self, media, record):
        t = record.num_frames
        audio = np.tile([0.8, 0.1, 0.1], (t, 1))
        visual = np.tile([0.1, 0.1, 0.8], (t, 1))
        visual[: t // 2] = audio[: t // 2]
        return audio, visual


def test_teacher_posteriors_and_soft_labels_are_stored(tmp_path, stub_tracker):
    video = _good(tmp_path / "v.mp4", 1.0)
    record = prep.prepare_clip(video, teacher=FakeTeacher()).record
    t = record.num_frames
    assert record.arrays["audio_posteriors"].shape == (t, 3)
    soft = record.arrays["soft_label"]
    assert np.allclose(soft[: t // 2], 1.0, atol=1e-5) and (soft[t // 2:] < 0.6).all()
    assert record.meta.teacher == "fake" and record.meta.vocabulary == ["a", "b", "c"]


def test_unknown_teacher_is_a_clear_error(tmp_path):
    from avcorr.errors import ConfigError

    with pytest.raises(ConfigError, match="no-such-teacher"):
        prep.prepare_manifest([], tmp_path / "cache", workers=1, teacher="no-such-teacher")
    assert prep.load_teacher("none") is None


def test_audio_file_in_the_manifest_overrides(tmp_path, stub_tracker):
    video = write_media(tmp_path / "mute.mp4", index_frames(25, (64, 64)), None)
    wav = write_media(tmp_path / "voice.mkv", None, tone(1.0))
    rows = [ManifestRow(clip_id="w2l", video_path=str(video), audio_path=str(wav), label=1, method="Wav2Lip")]
    summary = prep.prepare_manifest(rows, tmp_path / "cache", workers=1)
    assert summary.done == 1
    record = load_clip(ClipCache(tmp_path / "cache").path_for("w2l"))
    assert record.meta.audio_path == str(wav) and record.arrays["mfcc"].shape == (100, 13)


def test_a_30_minute_file_prepares_in_bounded_time_and_memory(tmp_path, stub_tracker):
    import time
    import tracemalloc

    minutes = 30
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(minutes * 60 * 8000)).astype(np.float32)
    video = write_media(tmp_path / "lecture.avi", index_frames(minutes * 60, (32, 32)), audio, fps=1.0, sample_rate=8000)
    import scipy.signal  # noqa: F401  (imported before timing: its first import is slow, not prepare)

    tracemalloc.start()
    start = time.perf_counter()
    prepared = prep.prepare_clip(video, options=prep.PrepareOptions(max_frames=1000, face_size=32, mouth_size=16))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    record = prepared.record
    assert record.num_frames == 1000 and record.meta.extra["truncated"] is True
    assert record.meta.extra["source_video_s"] == pytest.approx(minutes * 60, rel=0.01)
    assert peak < 200_000_000  # the whole file decoded to 25 fps RGB would be 45 000 frames; 16 kHz audio alone 115 MB
    assert elapsed < 20


def test_a_half_written_temporary_file_is_ignored_and_cleaned(tmp_path, stub_tracker):
    paths = {"one": _good(tmp_path / "one.mp4", 0.4)}
    cache = tmp_path / "cache"
    (cache / "clips").mkdir(parents=True)
    stale = cache / "clips" / ".tmp-abc123.npz"
    stale.write_bytes(b"PK\x03\x04 half a zip")  # a write killed mid-way
    import os
    import time

    old = time.time() - 3600
    os.utime(stale, (old, old))
    summary = prep.prepare_manifest(_rows(paths), cache, workers=1)
    assert summary.done == 1
    assert [p.name for p in ClipCache(cache).clip_files()] == ["one.npz"]
    assert not stale.exists()
