"""The HTML report: evidence selection, curves, escaping, and that the page is self-contained."""
from __future__ import annotations

import re

import cv2
import numpy as np

from avcorr.detect.evidence import pick_suspicious_frames
from avcorr.detect.report import curves_png, png_data_uri, render_report, write_report
from report_fixtures import clean_video, failed_video, forged_video


def test_suspicious_frames_are_top_scores_kept_apart():
    scores = np.array([0.1, 0.9, 0.95, 0.2, 0.1, 0.8, 0.1, 0.1, 0.7, 0.3])
    assert pick_suspicious_frames(scores, count=3, min_gap_frames=1) == [1, 2, 5]
    # Frames within 3 of a chosen one are skipped: 2 wins, 1 and 5 are too close... 5 is 3 away.
    assert pick_suspicious_frames(scores, count=3, min_gap_frames=3) == [2, 5, 8]
    assert pick_suspicious_frames(np.array([np.nan, 0.4]), count=2) == [1]
    assert pick_suspicious_frames(np.array([]), count=2) == []


def test_evidence_comes_from_the_fake_window():
    video = forged_video(window=(50, 100))
    assert len(video.evidence) == 3
    assert all(50 <= item.frame < 100 for item in video.evidence)
    assert all(item.mouth.shape == (32, 32) and item.face.shape == (64, 64) for item in video.evidence)
    assert [(s.start_frame, s.end_frame) for s in video.segments] == [(50, 100)]


def test_curves_png_has_the_requested_width():
    png = curves_png(forged_video(), width_px=900)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == 900 and image.shape[0] > 300  # two panels
    assert curves_png(failed_video()) is None


def test_report_is_escaped_and_self_contained(tmp_path):
    videos = [forged_video(), clean_video(), failed_video()]
    path = write_report(videos, tmp_path / "report", settings={"checkpoint": "runs/<x>"})
    page = path.read_text()
    assert path.name == "index.html"
    # Text from file names and errors is escaped, never raw markup.
    assert "forged &lt;partial&gt; &amp; co.mp4" in page and "<partial>" not in page
    assert "no audio track &lt;none&gt;" in page and "runs/&lt;x&gt;" in page
    # Nothing is fetched: every src is a data URI, no stylesheet or script links.
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for s in sources)
    assert "<link" not in page and "<script" not in page and "http://" not in page and "https://" not in page
    # One card per video; 1 curves image per playable video + 3 evidence frames × (face + mouth).
    assert page.count('class="card ') == 3
    assert len(sources) == 2 + 3 * 2
    assert page.count('class="segments"') == 1 and "2.00" in page and "4.00" in page  # frames 50–99 at 25 fps


def test_png_data_uri_round_trips():
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    uri = png_data_uri(image)
    import base64

    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded[..., ::-1], image)


def test_render_empty_batch():
    page = render_report([])
    assert "<h1>" in page and page.count('class="card ') == 0


def test_scenes_come_from_the_video_with_the_face_boxed(tmp_path):
    from avcorr.detect.evidence import FrameEvidence, add_scenes
    from avcorr.detect.report import jpeg_data_uri
    from avcorr.media.encode import write_video

    frames = np.zeros((20, 64, 96, 3), np.uint8)
    for t in range(20):
        frames[t, :, :, 1] = 10 * t  # the green level tells the frames apart
    path = tmp_path / "clip.mp4"
    write_video(path, frames, np.zeros(int(16000 * 20 / 25), np.float32))
    face = np.zeros((8, 8), np.uint8)
    evidence = [FrameEvidence(3, 0.12, 0.9, face, face_box=np.array([10, 10, 40, 40], np.float32)),
                FrameEvidence(12, 0.48, 0.8, face)]
    add_scenes(evidence, path, fps=25.0, start_s=0.2, width=48)  # analysed clip starts at file frame 5
    assert evidence[0].scene.shape == (32, 48, 3) and evidence[1].scene.shape == (32, 48, 3)
    # File frames 8 and 17 (green 80 and 170, give or take compression), the first with a red box.
    assert abs(int(np.median(evidence[0].scene[20:30, 30:45, 1])) - 80) < 12
    assert abs(int(np.median(evidence[1].scene[20:30, 30:45, 1])) - 170) < 12
    assert evidence[0].scene[5, 10, 0] > 150 and evidence[0].scene[5, 10, 1] < 120
    assert jpeg_data_uri(evidence[0].scene).startswith("data:image/jpeg;base64,")
    missing = [FrameEvidence(0, 0.0, 0.5, face)]
    add_scenes(missing, tmp_path / "gone.mp4")
    assert missing[0].scene is None
