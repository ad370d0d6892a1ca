"""Numerical identity with the public network (../shared/reference).

Builds the deterministic weights of reference/README.md under the released checkpoint's key
names, writes them as a legacy PyTorch file, converts it with ``avcorr convert-checkpoint``, and
matches every array of paper_forward_reference.npz to 1e-4.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.cli.main import main
from avcorr.losses import distillation_loss, joint_modal_loss
from avcorr.models.checkpoint import load_detector
from avcorr.soft_label import soft_correlation_label
from avcorr.teachers.deep_avsr import AudioNet, VideoNet

pytestmark = pytest.mark.shared
ATOL = 1e-4


def _reference_shapes(reference: Path) -> dict[str, tuple[int, ...]]:
    lines = (reference / "paper_checkpoint_keys.tsv").read_text().splitlines()[1:]
    shapes = {}
    for line in lines:
        key, shape = line.split("\t")
        shapes[key] = () if shape == "scalar" else tuple(int(x) for x in shape.split("x"))
    return shapes


def build_reference_state_dict(reference: Path) -> dict[str, torch.Tensor]:
    """The weight recipe of reference/README.md, over the released checkpoint's keys."""
    computed_pe = {"ASRmodel.positionalEncoding.pe": AudioNet().positionalEncoding.pe,
                   "VSRmodel.positionalEncoding.pe": VideoNet().positionalEncoding.pe}
    generator = torch.Generator().manual_seed(1234)
    state = {}
    for key, shape in sorted(_reference_shapes(reference).items()):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("positionalEncoding.pe"):
            state[key] = computed_pe[key].clone()
            assert tuple(state[key].shape) == shape
        elif key.endswith("running_var"):
            state[key] = 1 + 0.1 * torch.rand(shape, generator=generator)
        else:
            state[key] = 0.05 * torch.randn(shape, generator=generator)
    return state


@pytest.fixture(scope="module")
def converted(shared_reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("paper")
    legacy = work / "paper_checkpoint.model"
    state = build_reference_state_dict(shared_reference)
    assert len(state) == 783
    torch.save(state, legacy)
    out = work / "converted"
    assert main(["convert-checkpoint", str(legacy), "--from", "paper", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def reference_arrays(shared_reference: Path) -> dict[str, np.ndarray]:
    with np.load(shared_reference / "paper_forward_reference.npz") as archive:
        return {k: archive[k] for k in archive.files}


def test_conversion_places_every_key(converted: Path) -> None:
    from safetensors.torch import load_file

    audio = load_file(str(converted / "teachers" / "deep_avsr_audio.safetensors"))
    video = load_file(str(converted / "teachers" / "deep_avsr_video.safetensors"))
    assert set(audio) == set(AudioNet().state_dict())
    assert set(video) == set(VideoNet().state_dict())


def test_student_forward_matches_reference(converted: Path, reference_arrays: dict[str, np.ndarray]) -> None:
    model = load_detector(converted)
    ref = reference_arrays
    names = {
        "audio_embedding": "audio_embedding", "visual_embedding": "visual_embedding",
        "audio_cross": "audio", "visual_cross": "visual", "fused": "fused",
        "frame_logits": "frame_logits", "student_correlation": "correlation",
    }
    for clip in range(ref["frames"].shape[0]):  # each clip on its own (B = 1), as the reference was made
        with torch.no_grad():
            out = model(torch.from_numpy(ref["mfcc"][clip : clip + 1]), torch.from_numpy(ref["frames"][clip : clip + 1]))
        for ref_name, attr in names.items():
            ours = getattr(out, attr)[0].numpy()
            np.testing.assert_allclose(ours, ref[ref_name][clip], atol=ATOL, rtol=0, err_msg=f"{ref_name} of clip {clip}")


def test_teachers_soft_label_and_losses_match_reference(converted: Path, reference_arrays: dict[str, np.ndarray]) -> None:
    from safetensors.torch import load_file

    ref = reference_arrays
    asr, vsr = AudioNet().eval(), VideoNet().eval()
    asr.load_state_dict(load_file(str(converted / "teachers" / "deep_avsr_audio.safetensors")))
    vsr.load_state_dict(load_file(str(converted / "teachers" / "deep_avsr_video.safetensors")))
    with torch.no_grad():
        p = torch.cat([asr(torch.from_numpy(ref["stft"][i : i + 1])) for i in range(2)])
        q = torch.cat([vsr(torch.from_numpy(ref["lip_features"][i : i + 1])) for i in range(2)])
    np.testing.assert_allclose(p.numpy(), ref["asr_posteriors"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(q.numpy(), ref["vsr_posteriors"], atol=ATOL, rtol=0)

    y = soft_correlation_label(p, q, divergence="paper")
    np.testing.assert_allclose(y.numpy(), ref["soft_label_paper"], atol=ATOL, rtol=0)

    s = torch.from_numpy(ref["student_correlation"])
    label = torch.from_numpy(ref["fake_label"])
    assert float(distillation_loss(s, y)) == pytest.approx(float(ref["loss_distillation_paper"]), abs=ATOL)
    assert float(joint_modal_loss(s, y, label, form="paper", margin=1.0)) == pytest.approx(float(ref["loss_joint_modal_paper"]), abs=ATOL)


def test_shape_mismatch_fails(shared_reference: Path, tmp_path: Path) -> None:
    state = build_reference_state_dict(shared_reference)
    state["lossAV.FC.weight"] = torch.zeros(3, 256)
    legacy = tmp_path / "bad.model"
    torch.save(state, legacy)
    assert main(["convert-checkpoint", str(legacy), "--from", "paper", "--out", str(tmp_path / "out")]) == 2


def test_unplaced_keys_are_listed(shared_reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = build_reference_state_dict(shared_reference)
    state["model.somethingNew.weight"] = torch.zeros(2)
    legacy = tmp_path / "extra.model"
    torch.save(state, legacy)
    assert main(["convert-checkpoint", str(legacy), "--out", str(tmp_path / "out"), "--json"]) == 0
    assert '"model.somethingNew.weight"' in capsys.readouterr().out
