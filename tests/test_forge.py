"""``avcorr forge`` orchestration on tiny generated clips (no faces needed for the audio methods)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np
import pytest

from avcorr.cli.main import main
from avcorr.data.manifest import ManifestRow, read_manifest, write_manifest
from avcorr.forge.forge import ForgeOptions, run_forge
from avcorr.media.encode import write_video

FPS, SR, T = 25.0, 16000, 30


def _decode(path: Path) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    with av.open(str(path)) as container:
        packets = [bytes(p) for p in container.demux(video=0) if p.size]
    return np.stack(frames), audio, packets


def _tone_clip(path: Path, freq: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
    frames = np.stack([np.kron(np.roll(base, t // 5, axis=1), np.ones((8, 8, 1), np.uint8)) for t in range(T)])
    n = int(T * SR / FPS)
    audio = 0.3 * np.sin(2 * np.pi * freq * np.arange(n) / SR) * (0.6 + 0.4 * np.sin(np.arange(n) / 900.0))
    write_video(path, frames, audio.astype(np.float32), fps=FPS, sample_rate=SR)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    rows = []
    for name, ident, freq in (("a1", "anna", 300.0), ("a2", "anna", 500.0), ("b1", "bob", 1200.0)):
        _tone_clip(folder / f"{name}.mp4", freq, seed=len(rows))
        rows.append(ManifestRow(clip_id=name, video_path=f"{name}.mp4", label=0, source_id=ident, split="train"))
    rows.append(ManifestRow(clip_id="fake_in", video_path="a1.mp4", label=1, method="x"))  # not a source
    (folder / "broken.mp4").write_bytes(b"not a video")
    rows.append(ManifestRow(clip_id="broken", video_path="broken.mp4", label=0, source_id="carl", split="train"))
    write_manifest(folder / "sources.csv", rows)
    return folder / "sources.csv"


def _dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / SR)[np.argmax(spectrum)])


def test_audio_methods_labels_lengths_and_untouched_video(sources, tmp_path):
    options = ForgeOptions(methods=["audio-swap", "audio-swap-self", "tts-dub"], seed=3)
    report = run_forge(sources, tmp_path / "out", options)
    rows = {r.clip_id: r for r in read_manifest(report.manifest_path)}
    assert {r.method for r in rows.values()} == {"real", "audio-swap", "audio-swap-self", "tts-dub"}
    assert len(rows) == 3 * 4  # 3 usable sources: a real row and 3 fakes each
    assert [(f.clip_id, f.stage) for f in report.failures] == [("broken", "decode")]
    for source in ("a1", "a2", "b1"):
        real = rows[source]
        assert (real.label, real.audio_label, real.video_label, real.sync_label) == (0, 0, 0, 0)
        real_frames, real_audio, real_packets = _decode(Path(real.video_path))
        assert real_frames.shape[0] == T
        for method in ("audio-swap", "audio-swap-self", "tts-dub"):
            fake = rows[f"{source}__{method}"]
            frames, audio, packets = _decode(Path(fake.video_path))
            # The video stream is exactly a re-encode of the source (same encoder, same frames).
            assert packets == real_packets
            assert len(audio) == len(real_audio)
            assert fake.label == 1 and fake.video_label == 0 and fake.sync_label == 1
            assert fake.source_id == real.source_id
        swap, swap_self = rows[f"{source}__audio-swap"], rows[f"{source}__audio-swap-self"]
        assert swap.audio_source_id != real.source_id and swap.audio_label == 1
        assert swap_self.audio_source_id == real.source_id and swap_self.audio_label == 0
        assert rows[f"{source}__tts-dub"].audio_source_id.startswith("tts:")
    # The swapped audio is the donor's speech: b1's tone (1200 Hz) is in a1's audio-swap.
    _, swapped, _ = _decode(Path(rows["a1__audio-swap"].video_path))
    assert abs(_dominant_hz(swapped) - 1200.0) < 30
    _, own, _ = _decode(Path(rows["a1__audio-swap-self"].video_path))
    assert abs(_dominant_hz(own) - 500.0) < 30  # a2, the same identity's other clip
    audit = [json.loads(line) for line in (tmp_path / "out" / "forgeries.jsonl").read_text().splitlines()]
    assert len(audit) == 9 and all("audio_donor" in a for a in audit)


def test_same_seed_same_bytes_other_seed_other_speech(sources, tmp_path):
    options = ForgeOptions(methods=["tts-dub", "audio-swap"], seed=11, partial=True)
    first = run_forge(sources, tmp_path / "one", options)
    second = run_forge(sources, tmp_path / "two", options)
    names = sorted(p.name for p in (tmp_path / "one" / "videos").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two" / "videos").iterdir())
    for name in names:
        assert (tmp_path / "one" / "videos" / name).read_bytes() == (tmp_path / "two" / "videos" / name).read_bytes()
    assert (tmp_path / "one" / "manifest.csv").read_text() == (tmp_path / "two" / "manifest.csv").read_text()
    other = run_forge(sources, tmp_path / "three", ForgeOptions(methods=["tts-dub"], seed=12))
    a = (tmp_path / "one" / "videos" / "a1__tts-dub.mp4").read_bytes()
    assert a != (tmp_path / "three" / "videos" / "a1__tts-dub.mp4").read_bytes()
    assert first.frames_written == second.frames_written and other.failures == first.failures[:1]


def test_partial_window_is_recorded_and_frame_exact(sources, tmp_path):
    report = run_forge(sources, tmp_path / "out", ForgeOptions(methods=["audio-swap"], seed=5, partial=True))
    rows = {r.clip_id: r for r in read_manifest(report.manifest_path)}
    for source in ("a1", "a2", "b1"):
        fake, real = rows[f"{source}__audio-swap"], rows[source]
        start, end = fake.fake_start_s, fake.fake_end_s
        assert start is not None and end is not None
        assert 0 <= start < end <= T / FPS + 1e-9
        assert abs(start * FPS - round(start * FPS)) < 1e-6 and (end - start) * FPS >= min(T, FPS) - 1e-6
        assert real.fake_start_s is None
        _, fake_audio, _ = _decode(Path(fake.video_path))
        _, real_audio, _ = _decode(Path(real.video_path))
        a, b = int(start * SR), int(end * SR)
        margin = 1600  # AAC frames overlap: compare 0.1 s away from the window's edges
        inside = fake_audio[a + margin:b - margin] - real_audio[a + margin:b - margin]
        outside = np.concatenate([fake_audio[:max(0, a - margin)] - real_audio[:max(0, a - margin)],
                                  fake_audio[b + margin:] - real_audio[b + margin:len(fake_audio)]])
        assert np.sqrt(np.mean(inside ** 2)) > 0.1
        if outside.size:
            assert np.sqrt(np.mean(outside ** 2)) < 0.02


def test_cli_forge_json_and_unknown_method(sources, tmp_path, capsys):
    code = main(["forge", str(sources), "--out", str(tmp_path / "cli"), "--methods", "audio-swap", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["clips"] == {"real": 3, "audio-swap": 3}
    assert summary["failures"][0]["clip_id"] == "broken"
    with (tmp_path / "cli" / "failures.csv").open() as handle:
        assert [r["clip_id"] for r in csv.DictReader(handle)] == ["broken"]
    code = main(["forge", str(sources), "--out", str(tmp_path / "bad"), "--methods", "deepfake-9000"])
    assert code == 2
    assert "unknown forgery method" in capsys.readouterr().err


def test_a_folder_of_videos_is_a_source_list(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i, freq in enumerate((400.0, 900.0)):
        _tone_clip(folder / f"person{i}.mp4", freq, seed=10 + i)
    report = run_forge(folder, tmp_path / "out", ForgeOptions(methods=["audio-swap"], seed=0))
    rows = read_manifest(report.manifest_path)
    assert sorted(r.clip_id for r in rows) == ["person0", "person0__audio-swap", "person1", "person1__audio-swap"]
    swap = next(r for r in rows if r.clip_id == "person0__audio-swap")
    assert swap.source_id == "person0" and swap.audio_source_id == "person1"
