"""Decoding in a second thread (``PrepareOptions.prefetch``): the same frames in the same order,
errors where they happened, nothing left running when the consumer stops early."""
from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from avcorr.forge.articulation import VISEME_TARGETS
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.media.encode import write_video
from avcorr.prepare.pipeline import PrepareOptions, prefetched, prepare_clip
from media_fixtures import tone

REST = dict(dx=0.0, dy=0.0, roll_deg=0.0, scale=1.0, yaw=0.0, pitch=0.0, blink=0.0, gaze_x=0.0, gaze_y=0.0, brow=0.0)
MOUTH_KEYS = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")


def test_prefetched_keeps_order_and_raises_the_producers_error_in_turn():
    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise ValueError("bad packet")

    got = []
    with pytest.raises(ValueError, match="bad packet"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_and_closes_the_producer():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    stream = prefetched(endless(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed.is_set()
    assert not any(t.name == "avcorr-prefetch" for t in threading.enumerate())


def test_prepare_with_prefetch_gives_the_same_record(tmp_path):
    renderer = FaceRenderer(FaceIdentity.sample(np.random.default_rng(3), "id3"), size=128, seed=0)
    frames = []
    for i in range(50):
        mouth = dict(zip(MOUTH_KEYS, VISEME_TARGETS["aa"]))
        mouth["open"] *= 0.5 + 0.5 * np.sin(i / 3)
        frames.append(renderer.render(mouth, REST, noise_sigma=2.0, noise_rng=np.random.default_rng(i)))
    video = write_video(tmp_path / "talk.mp4", np.stack(frames), tone(2.0))
    options = PrepareOptions(store_stft=False)
    plain = prepare_clip(video, None, options).record.arrays
    ahead = prepare_clip(video, None, replace(options, prefetch=True)).record.arrays
    assert plain.keys() == ahead.keys()
    for name in plain:
        np.testing.assert_array_equal(plain[name], ahead[name], err_msg=name)
