"""deep_avsr teachers: key names fit the public checkpoints, and the reference forward matches."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.errors import CheckpointError, MissingModelError
from avcorr.teachers.deep_avsr import AudioNet, PositionalEncoding, VideoNet, load_into, load_state_dict_file


def _read_key_shapes(tsv: Path) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for line in tsv.read_text().splitlines()[1:]:
        key, shape = line.split("\t")
        shapes[key] = () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
    return shapes


def _recipe_weights(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """The reference README's deterministic weights, drawn over ALL keys in sorted order."""
    g = torch.Generator().manual_seed(1234)
    out = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("num_batches_tracked") or key.endswith("positionalEncoding.pe"):
            continue
        if key.endswith("running_var"):
            out[key] = 1 + 0.1 * torch.rand(shape, generator=g)
        else:
            out[key] = 0.05 * torch.randn(shape, generator=g)
    return out


def _sub(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def test_positional_encoding_is_the_sinusoid_table() -> None:
    pe = PositionalEncoding(d_model=8, max_length=10).pe
    assert pe.shape == (10, 1, 8)
    assert torch.allclose(pe[3, 0, 0], torch.sin(torch.tensor(3.0)))
    assert torch.allclose(pe[3, 0, 1], torch.cos(torch.tensor(3.0)))
    assert torch.allclose(pe[5, 0, 2], torch.sin(torch.tensor(5.0) / 10000 ** (2 / 8)))


def test_output_shapes_and_simplex() -> None:
    torch.manual_seed(0)
    asr, vsr = AudioNet().eval(), VideoNet().eval()
    with torch.no_grad():
        p = asr(torch.rand(2, 12, 321))
        q = vsr(torch.randn(2, 3, 512))
    assert p.shape == (2, 3, 40) and q.shape == (2, 3, 40)
    assert torch.allclose(p.sum(-1), torch.ones(2, 3), atol=1e-5)
    assert torch.allclose(q.sum(-1), torch.ones(2, 3), atol=1e-5)


@pytest.mark.shared
def test_checkpoint_keys_and_reference_posteriors(shared_reference: Path, tmp_path: Path) -> None:
    shapes = _read_key_shapes(shared_reference / "paper_checkpoint_keys.tsv")
    state = _recipe_weights(shapes)
    for prefix, net in (("ASRmodel.", AudioNet()), ("VSRmodel.", VideoNet())):
        ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        theirs = {k[len(prefix):]: s for k, s in shapes.items() if k.startswith(prefix)}
        assert ours == theirs, f"{prefix} keys/shapes differ"

    # Round trip through files the way a user gives them: deep_avsr's own (unprefixed) files.
    asr_path, vsr_path = tmp_path / "audio-only.pt", tmp_path / "video-only.pt"
    asr_state, vsr_state = _sub(state, "ASRmodel."), _sub(state, "VSRmodel.")
    table = PositionalEncoding().pe  # checkpoints carry the computed table
    asr_state["positionalEncoding.pe"] = vsr_state["positionalEncoding.pe"] = table.clone()
    torch.save(asr_state, asr_path)
    torch.save(vsr_state, vsr_path)
    asr = AudioNet()
    asr_loaded = load_state_dict_file(asr_path)
    load_into(asr, asr_loaded)
    vsr = VideoNet()
    vsr_loaded = load_state_dict_file(vsr_path)
    load_into(vsr, vsr_loaded)
    assert set(asr_loaded) == set(asr.state_dict()) and set(vsr_loaded) == set(vsr.state_dict())

    ref = np.load(shared_reference / "paper_forward_reference.npz")
    with torch.no_grad():
        for b in range(2):  # each clip on its own (B = 1), as the reference was made
            p = asr(torch.from_numpy(ref["stft"][b : b + 1])).numpy()[0]
            q = vsr(torch.from_numpy(ref["lip_features"][b : b + 1])).numpy()[0]
            np.testing.assert_allclose(p, ref["asr_posteriors"][b], atol=1e-4)
            np.testing.assert_allclose(q, ref["vsr_posteriors"][b], atol=1e-4)


def test_prefixed_checkpoint_and_errors(tmp_path: Path) -> None:
    net = AudioNet()
    path = tmp_path / "paper.ckpt"
    torch.save({"ASRmodel." + k: v for k, v in net.state_dict().items()} | {"model.x": torch.zeros(1)}, path)
    state = load_state_dict_file(path, prefix="ASRmodel.")
    load_into(AudioNet(), state)
    with pytest.raises(CheckpointError):
        load_into(VideoNet(), state)
    with pytest.raises(MissingModelError):
        load_state_dict_file(tmp_path / "absent.pt")
    with pytest.raises(CheckpointError):
        load_state_dict_file(path, prefix="VSRmodel.")


def test_deep_avsr_teacher_from_checkpoint_files(tmp_path: Path) -> None:
    from avcorr.data.clip_cache import ClipMeta, ClipRecord
    from avcorr.nn.visual_frontend import VisualFrontend
    from avcorr.teachers.deep_avsr import CHARACTERS
    from avcorr.teachers.registry import get_teacher

    torch.manual_seed(0)
    paths = {}
    for name, module in (("audio_model", AudioNet()), ("video_model", VideoNet()), ("visual_frontend", VisualFrontend())):
        paths[name] = tmp_path / f"{name}.pt"
        torch.save(module.state_dict(), paths[name])
    teacher = get_teacher("deep_avsr", **paths)
    t = 6
    rng = np.random.default_rng(0)
    record = ClipRecord(ClipMeta(clip_id="c", label=0), {
        "frames": rng.integers(0, 255, size=(t, 112, 112), dtype=np.uint8),
        "mouth": rng.integers(0, 255, size=(t, 112, 112), dtype=np.uint8),
        "stft": rng.random((4 * t, 321)).astype(np.float16),
    })
    out = teacher.posteriors(None, record)
    assert out.audio.shape == out.visual.shape == (t, len(CHARACTERS)) == (t, 40)
    np.testing.assert_allclose(out.audio.sum(1), 1.0, atol=1e-5)
    assert not any(p.requires_grad for p in teacher.asr.parameters())
    with pytest.raises(MissingModelError):
        get_teacher("deep_avsr", audio_model=paths["audio_model"])
