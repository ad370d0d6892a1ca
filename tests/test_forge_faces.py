"""Face-moving forgeries (face-swap, still-talk, lip-rewrite) on synthetic clips, and on real GRID
clips where ../shared/data is present (those instances carry the ``shared`` marker).

Checks what each method claims: the output decodes, keeps length and size, keeps the face
trackable, and changes what it should (lip-rewrite: the mouth, not the rest; still-talk: one
frame moved by a similarity per frame, lips warped; face-swap: the inner face).
"""
from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest

from avcorr.data.manifest import ManifestRow, read_manifest
from avcorr.forge.forge import ForgeOptions, run_forge
from avcorr.forge.methods import AudioDonor, FaceDonor, ForgeRequest, SourceClip, get_method
from avcorr.forge.methods import landmarks as lm
from avcorr.forge.methods.still_talk import _head_weight, head_matrix
from avcorr.forge.synth import SynthOptions, synthesize_dataset
from avcorr.media import landmarks as facemesh
from avcorr.media.face import FaceTracker
from avcorr.teachers.visemes import VISEME_INDEX

GRID = ["bbaf2n", "brbk7n", "lbax4n"]
SECONDS = 1.2
METHODS = ["lip-rewrite", "still-talk", "face-swap", "lip-rewrite-self"]
#: Every test runs on both kinds of source; the real clips need ../shared (and take longer).
SOURCES = [pytest.param("synth", id="synth"),
           pytest.param("grid", id="grid", marks=[pytest.mark.shared, pytest.mark.slow])]


@pytest.fixture(scope="module")
def synth_rows(tmp_path_factory) -> list[ManifestRow]:
    """Two small synthetic speakers (one identity each, so face-swap finds a donor), made once."""
    out = tmp_path_factory.mktemp("synth")
    result = synthesize_dataset(out, SynthOptions(clips=2, seed=5, size=128, identities=2))
    assert not result.failures
    return read_manifest(out / "manifest.csv")


@pytest.fixture(scope="module", params=SOURCES)
def source_rows(request) -> list[ManifestRow]:
    if request.param == "synth":
        return request.getfixturevalue("synth_rows")
    shared_data = request.getfixturevalue("shared_data")
    return [ManifestRow(clip_id=name, video_path=str(shared_data / "clips" / f"rizkiarm+LipNet__evaluation__samples__GRID__{name}.mpg"),
                        label=0, source_id=name) for name in GRID]


def _decode(path: str) -> tuple[np.ndarray, int]:
    with av.open(path) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    with av.open(path) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    return frames, samples


@pytest.fixture(scope="module")
def forged(source_rows, tmp_path_factory):
    out = tmp_path_factory.mktemp("forged")
    report = run_forge(source_rows, out, ForgeOptions(methods=METHODS, seed=0, max_seconds=SECONDS, preview=True))
    assert report.failures == []
    audit = {json.loads(line)["clip_id"]: json.loads(line) for line in (out / "forgeries.jsonl").read_text().splitlines()}
    names = [r.clip_id for r in source_rows]
    return {r.clip_id: r for r in read_manifest(report.manifest_path)}, audit, report, names


def test_outputs_decode_keep_length_size_and_a_trackable_face(forged):
    rows, _, report, names = forged
    assert len(report.previews) == len(METHODS) and all(p.stat().st_size > 1000 for p in report.previews)
    tracker = FaceTracker()
    for name in names:
        real_frames, real_samples = _decode(rows[name].video_path)
        assert len(real_frames) == int(SECONDS * 25)
        for method in METHODS:
            fake = rows[f"{name}__{method}"]
            frames, samples = _decode(fake.video_path)
            assert frames.shape == real_frames.shape
            assert samples == real_samples
            assert fake.label == 1 and fake.video_label == 1 and fake.source_id == rows[name].source_id
            # face-swap keeps the source's voice, the -self method takes the same person's; the others another's
            assert (fake.audio_source_id == fake.source_id) == (method in ("face-swap", "lip-rewrite-self"))
            assert tracker.track(frames).found_fraction >= 0.95


def test_lip_rewrite_changes_the_mouth_and_little_else(forged):
    rows, _, _, names = forged
    tracker = FaceTracker()
    for name in names:
        real, _ = _decode(rows[name].video_path)
        fake, _ = _decode(rows[f"{name}__lip-rewrite"].video_path)
        marks = tracker.track(real).landmarks
        inside, outside = [], []
        for t in range(len(real)):
            x0, y0, x1, y1 = lm.mouth_box(marks[t], scale=1.2)
            diff = np.abs(fake[t].astype(np.int16) - real[t].astype(np.int16)).mean(axis=2)
            mask = np.zeros(diff.shape, bool)
            mask[max(0, y0):y1, max(0, x0):x1] = True
            inside.append(diff[mask].mean())
            far = np.ones(diff.shape, bool)
            bx0, by0, bx1, by1 = lm.mouth_box(marks[t], scale=3.0)
            far[max(0, by0):by1, max(0, bx0):bx1] = False
            outside.append(diff[far].mean())
        assert np.mean(inside) > 4.0 * np.mean(outside)
        assert np.mean(outside) < 1.5  # encoder noise only


def test_face_swap_changes_the_inner_face(forged):
    rows, audit, _, names = forged
    tracker = FaceTracker()
    for name in names:
        real, _ = _decode(rows[name].video_path)
        fake, _ = _decode(rows[f"{name}__face-swap"].video_path)
        assert audit[f"{name}__face-swap"]["face_donor"] != name
        marks = tracker.track(real).landmarks
        centre = marks[:, facemesh.NOSE, :2].mean(axis=1).round().astype(int)
        core = [np.abs(fake[t, c[1] - 8:c[1] + 8, c[0] - 8:c[0] + 8].astype(int) - real[t, c[1] - 8:c[1] + 8, c[0] - 8:c[0] + 8]).mean()
                for t, c in enumerate(centre)]
        corner = np.abs(fake[:, :20, :20].astype(int) - real[:, :20, :20]).mean()
        assert np.mean(core) > 8.0 and np.mean(core) > 4.0 * corner and corner < 3.0  # corner: encoder noise only


def _tracked(row: ManifestRow) -> SourceClip:
    """A source's first 30 frames with their face track, for calling ``forge()`` directly."""
    from avcorr.media.decode import read_media

    clip = read_media(row.video_path, max_frames=30)
    track = FaceTracker().track(clip.frames)
    return SourceClip(clip_id=row.clip_id, identity=row.source_id, frames=clip.frames, audio=clip.audio, fps=clip.fps,
                      sample_rate=clip.sample_rate, landmarks=track.landmarks, found=track.found)


@pytest.fixture(scope="module")
def face_source(source_rows) -> SourceClip:
    return _tracked(source_rows[-1])


@pytest.fixture(scope="module")
def face_donor(source_rows) -> FaceDonor:
    """Another identity's face for face-swap (every frame of its first 30 as the bank)."""
    other = _tracked(source_rows[0])
    return FaceDonor(frames=other.frames, landmarks=other.landmarks, source_id=other.identity, clip_id=other.clip_id)


def _donor(source: SourceClip) -> AudioDonor:
    pattern = ["sil", "PP", "aa", "aa", "oh", "oh", "PP", "E", "E", "ou"]
    visemes = np.array([VISEME_INDEX[pattern[t % len(pattern)]] for t in range(source.num_frames)])
    return AudioDonor(audio=source.audio[::-1].copy(), source_id="other", clip_id="x", kind="other", visemes=visemes)


def test_still_talk_is_one_frame_moved_by_a_similarity_with_warped_lips(face_source):
    donor = _donor(face_source)
    scopes = set()
    for seed in range(6):
        result = get_method("still-talk").forge(ForgeRequest(face_source, np.random.default_rng(seed), audio_donor=donor))
        params = result.params
        scopes.add(params["render"]["motion_scope"])
        still_index = params["still_frame"]
        still = face_source.frames[still_index].astype(np.float32)
        h, w = still.shape[:2]
        tolerance = 2.0 * params["render"]["noise_sigma"] + 2.5
        kernel = cv2.INTER_CUBIC if params["render"]["interpolation"] == "cubic" else cv2.INTER_LINEAR  # as recorded
        bridge = face_source.landmarks[still_index, 6, :2]  # nose bridge: moved by the head, not by lips or lids
        background = _background(face_source.landmarks[still_index, :, :2], params, (h, w))
        assert background.sum() >= 64, background.sum()  # not a vacuous check: at least an 8 × 8 patch
        mouth_error, bridge_error = [], []  # mean |frame − still moved by the head alone| per frame
        for t, motion in enumerate(params["motion"]):
            matrix = head_matrix(np.array(motion), np.array(params["head_centre"]), (h, w))
            moved = cv2.warpAffine(still, matrix, (w, h), flags=kernel, borderMode=cv2.BORDER_REFLECT101)
            frame = result.frames[t].astype(np.float32)
            bx, by = (matrix[:, :2] @ bridge + matrix[:, 2]).round().astype(int)
            bridge_error.append(np.abs(frame[by - 4:by + 5, bx - 4:bx + 5] - moved[by - 4:by + 5, bx - 4:bx + 5]).mean())
            assert bridge_error[-1] < tolerance
            # The background is the still frame: unmoved when only the head moves, else moved with it.
            expected = still if params["render"]["motion_scope"] == "head" else moved
            assert np.abs(frame[background] - expected[background]).mean() < tolerance
            mx0, my0, mx1, my1 = lm.mouth_box(face_source.landmarks[still_index], scale=1.3)
            mouth_error.append(np.abs(frame[my0:my1, mx0:mx1] - moved[my0:my1, mx0:mx1]).mean())
        assert np.ptp(np.array(params["motion"])[:, 0]) > 0.05  # the head does move
        # the lips move with the visemes: the mouth departs from the head's motion several times more than the nose does
        assert np.mean(mouth_error) > 2.5 * np.mean(bridge_error)
    assert scopes == {"head", "frame"}


def _background(reference: np.ndarray, params: dict, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixels away from the warped face (its mesh box, widened by the head's travel, px)
    and, when only the head moves, where the head's motion has faded out."""
    h, w = shape
    travel = int(np.ceil(np.abs(np.array(params["motion"])[:, 1:3]).max() * max(h, w))) + 4
    x0, y0, x1, y1 = params["roi"]
    keep = np.ones((h, w), bool)
    keep[max(0, y0 - travel):y1 + travel, max(0, x0 - travel):x1 + travel] = False
    if params["render"]["motion_scope"] == "head":
        # the head's motion, faded by its weight, moves these pixels by under a quarter pixel
        keep &= _head_weight(reference.astype(np.float64), (h, w), params["render"]) * travel < 0.25
    return keep


def test_same_seed_same_forgery_in_process(face_source, face_donor):
    donor = _donor(face_source)
    for name in ("lip-rewrite", "still-talk", "face-swap"):
        def request(seed: int) -> ForgeRequest:
            return ForgeRequest(face_source, np.random.default_rng(seed), audio_donor=donor, face_donor=face_donor,
                                window=(5, 25))

        a, b = get_method(name).forge(request(9)), get_method(name).forge(request(9))
        assert np.array_equal(a.frames, b.frames)
        assert np.array_equal(a.frames[:5], face_source.frames[:5]) and np.array_equal(a.frames[25:], face_source.frames[25:])
        assert not np.array_equal(a.frames[5:25], face_source.frames[5:25])


def test_rewritten_lips_follow_the_new_audio(face_source):
    """The tracked lip opening of the output follows the target visemes' opening (the source's does not)."""
    from avcorr.forge.methods.speech import mouth_trajectory

    pattern = ["sil", "sil", "PP", "aa", "aa", "aa", "oh", "oh", "PP", "E", "E", "ou", "ou", "sil"]
    visemes = np.array([VISEME_INDEX[pattern[(t // 2) % len(pattern)]] for t in range(face_source.num_frames)])
    donor = AudioDonor(audio=face_source.audio, source_id="other", clip_id="x", kind="other", visemes=visemes)
    tracker = FaceTracker()
    source_opening = lm.mouth_opening(face_source.landmarks)
    for name in ("lip-rewrite", "still-talk"):
        result = get_method(name).forge(ForgeRequest(face_source, np.random.default_rng(1), audio_donor=donor))
        # The target opening up to the per-forgery gain and smoothing (which barely change a correlation).
        wanted, _, _ = mouth_trajectory(visemes, np.random.default_rng(0))
        seen = lm.mouth_opening(tracker.track(result.frames).landmarks)
        assert np.corrcoef(seen, wanted)[0, 1] > 0.8
        assert np.corrcoef(seen, wanted)[0, 1] > np.corrcoef(source_opening, wanted)[0, 1] + 0.4
