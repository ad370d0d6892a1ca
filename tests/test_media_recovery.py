"""Decoding that recovers from damage and says what it lost; truthful reasons for unreadable paths."""
from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from avcorr.errors import InputError
from avcorr.media import decode
from avcorr.media.coverage import MIN_COVERAGE, MIN_JUDGE_SECONDS, too_little_to_judge
from avcorr.media.files import check_media_file, os_error_reason
from media_fixtures import faststart, index_frames, tone, write_media


@pytest.fixture(scope="module")
def clip_4s(tmp_path_factory) -> Path:
    """4 s of H.264 + AAC in mp4, the index (moov) at the front so that a truncated copy stays readable."""
    folder = tmp_path_factory.mktemp("recovery")
    plain = write_media(folder / "plain.mp4", index_frames(100, (96, 128)), tone(4.0), fps=25.0)
    return faststart(plain, folder / "clip.mp4")


def _media_start(data: bytes) -> int:
    return data.index(b"mdat") + 4


def test_flipped_bytes_in_the_media_data_are_skipped_not_the_end(clip_4s, tmp_path):
    data = bytearray(clip_4s.read_bytes())
    start = _media_start(data)
    span = len(data) - start
    rng = np.random.default_rng(0)
    for pos in rng.integers(start + 2 * span // 5, start + 3 * span // 5, 60):  # the middle fifth of the mdat
        data[pos] ^= 0xFF
    bad = tmp_path / "flipped.mp4"
    bad.write_bytes(bytes(data))
    clip = decode.read_media(bad)
    # the whole length comes out (the first error used to end the audio at about 1.6 s)
    assert clip.num_frames == 100 and clip.audio.size == 100 * 640
    assert clip.video_packets_skipped + clip.audio_packets_skipped > 0
    assert MIN_COVERAGE < clip.coverage < 1.0
    # sound after the damaged span: decoding went on
    tail = clip.audio[-16000:]
    assert np.sqrt(np.mean(tail ** 2)) > 0.05
    assert too_little_to_judge(clip) is None


def test_a_good_clip_loses_nothing(clip_4s):
    report = decode.DecodeReport()
    chunks = list(decode.iter_media(clip_4s, report=report))
    assert sum(len(c.frames) for c in chunks) == 100
    assert report.video_packets_skipped == report.audio_packets_skipped == 0
    assert report.coverage == pytest.approx(1.0, abs=0.03)
    assert report.duration_s == pytest.approx(4.0)


@pytest.mark.parametrize("share", [0.5, 0.1])
def test_a_truncated_file_reports_its_coverage(clip_4s, tmp_path, share):
    data = clip_4s.read_bytes()
    start = _media_start(data)
    cut = tmp_path / f"cut{share}.mp4"
    cut.write_bytes(data[: start + int((len(data) - start) * share)])
    clip = decode.read_media(cut)
    assert clip.coverage < 1.0
    assert clip.coverage == pytest.approx(share, abs=0.1)  # the media data is about even in time
    assert clip.duration_s == pytest.approx(4.0 * share, abs=0.4)
    reason = too_little_to_judge(clip)
    assert (reason is None) == (clip.coverage >= MIN_COVERAGE and clip.duration_s >= MIN_JUDGE_SECONDS)
    if share == 0.1:
        assert reason is not None and "declared duration" in reason


def test_too_little_to_judge_names_the_shortfall():
    report = decode.DecodeReport(video_decoded_s=1.5, video_expected_s=1.6, audio_decoded_s=1.6, audio_expected_s=1.6,
                                 duration_s=1.5)
    assert report.coverage == pytest.approx(1.5 / 1.6)
    assert "1.50 s" in too_little_to_judge(report)
    enough = decode.DecodeReport(video_decoded_s=3.0, video_expected_s=10.0, duration_s=3.0)
    assert "30%" in too_little_to_judge(enough)
    # nothing declared by the streams: the longest stream against the file's duration
    whole = decode.DecodeReport(video_decoded_s=2.0, audio_decoded_s=4.0, container_expected_s=4.0, duration_s=2.0)
    assert whole.coverage == 1.0 and too_little_to_judge(whole) is None


class _Packet:
    def __init__(self, outcome):
        self.outcome = outcome

    def decode(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return [self.outcome]


class _Container:
    def __init__(self, outcomes):
        self.outcomes = outcomes

    def demux(self, stream):
        return iter(_Packet(o) for o in self.outcomes)


def test_bad_packets_are_counted_and_resource_errors_raise():
    import av

    bad = av.error.InvalidDataError(errno.EINVAL, "Invalid data found when processing input")
    report = decode.DecodeReport()
    got = list(decode._decoded(_Container(["a", bad, "b", bad, "c"]), None, "x.mp4", report, "audio"))
    assert got == ["a", "b", "c"] and report.audio_packets_skipped == 2 and report.video_packets_skipped == 0
    for exhausted in (av.error.BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable"),
                      av.error.MemoryError(errno.ENOMEM, "Cannot allocate memory")):
        frames = decode._decoded(_Container(["a", exhausted, "b"]), None, "x.mp4", decode.DecodeReport(), "video")
        assert next(frames) == "a"
        with pytest.raises(InputError, match="x.mp4: (out of memory|resource exhausted) while decoding"):
            next(frames)


# ----------------------------------------------------------------------------------- paths


def test_special_files_get_their_true_reasons(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.mp4"
    dangling.symlink_to(tmp_path / "gone.mp4")
    cases = {fifo: "named pipe (FIFO)", Path("/dev/zero"): "character device", loop: "symbolic link loop",
             dangling: "broken symbolic link", tmp_path: "is a folder", tmp_path / "nope.mp4": "file not found"}
    for path, reason in cases.items():
        with pytest.raises(InputError) as err:
            decode.read_media(path)  # returns at once: a FIFO without a writer is never opened
        assert reason in err.value.reason and err.value.stage == "decode", (path, err.value.reason)


def test_unreadable_file_says_permission_denied(tmp_path):
    assert os_error_reason(PermissionError(errno.EACCES, "Permission denied")) == "not readable (permission denied)"
    assert "too long" in os_error_reason(OSError(errno.ENAMETOOLONG, "File name too long"))
    if os.geteuid() == 0:
        pytest.skip("root reads files without read permission")
    path = write_media(tmp_path / "locked.mkv", index_frames(5), tone(0.2))
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        check_media_file(path)


def test_nan_audio_is_reported_as_such_not_as_silence(tmp_path):
    import av

    path = tmp_path / "nan.mkv"
    samples = tone(1.0)
    samples[4000:4100] = np.nan
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("pcm_f32le", rate=16000)
        audio.layout = "mono"
        for i, image in enumerate(index_frames(25)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
        out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    with pytest.raises(InputError, match="100 non-finite sample") as err:
        decode.read_media(path)
    assert "silent" not in err.value.reason
