"""``avcorr detect --max-seconds``: whole videos by default, a cap in seconds when asked, checked first."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avcorr.cli.detect import frames_for_seconds
from avcorr.cli.main import main
from avcorr.errors import ConfigError
from avcorr.forge.articulation import VISEME_TARGETS
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.media.encode import write_video
from media_fixtures import tone

REST = dict(dx=0.0, dy=0.0, roll_deg=0.0, scale=1.0, yaw=0.0, pitch=0.0, blink=0.0, gaze_x=0.0, gaze_y=0.0, brow=0.0)
MOUTH_KEYS = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")


def test_seconds_become_frames_at_25_fps_and_too_little_is_refused():
    assert frames_for_seconds(60) == 1500
    assert frames_for_seconds(0.08) == 2 and frames_for_seconds(2.5) == 62  # round half to even
    for bad in (0, -1, 0.02, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="--max-seconds"):
            frames_for_seconds(bad)


def test_detect_scores_the_whole_video_by_default_and_max_seconds_caps_it(tmp_path: Path, capsys) -> None:
    renderer = FaceRenderer(FaceIdentity.sample(np.random.default_rng(3), "id3"), size=128, seed=0)
    frames = []
    for i in range(100):  # 4 s of a talking face
        mouth = dict(zip(MOUTH_KEYS, VISEME_TARGETS["aa"]))
        mouth["open"] *= 0.5 + 0.5 * np.sin(i / 3)
        frames.append(renderer.render(mouth, REST, noise_sigma=2.0, noise_rng=np.random.default_rng(i)))
    video = str(write_video(tmp_path / "talk.mp4", np.stack(frames), tone(4.0)))
    assert main(["detect", "--json", video]) == 0
    whole = json.loads(capsys.readouterr().out)["videos"][0]["details"]
    assert main(["detect", "--json", "--max-seconds", "2.5", video]) == 0
    capped = json.loads(capsys.readouterr().out)["videos"][0]["details"]
    assert whole["source_s"] == pytest.approx(4.0, abs=0.05)
    assert not whole["truncated"] and whole["analysed_share"] > 0.95
    assert capped["truncated"] and 2.0 <= capped["analysed_s"] <= 2.5
    assert capped["analysed_share"] == pytest.approx(capped["analysed_s"] / capped["source_s"], abs=1e-3)
