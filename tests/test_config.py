"""Typed config: every value checked against its annotation, errors naming the dotted key, bundled names."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest

import avcorr.config as config_module
from avcorr.cli.main import main
from avcorr.config import from_dict, load_experiment_config, resolve_config_path
from avcorr.errors import ConfigError


@dataclass
class _Inner:
    widths: list[int] = field(default_factory=lambda: [1, 2])
    rate: float = 0.5


@dataclass
class _Sample:
    crop: int | None = None
    devices: int | str = "auto"
    clip: Optional[float] = None
    mode: Literal["paper", "js"] = "js"
    flag: bool = True
    count: int = 1
    inner: _Inner = field(default_factory=_Inner)


def _error(values: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        from_dict(_Sample, values)
    return str(caught.value)


def test_unions_and_optional_accept_each_arm() -> None:
    assert from_dict(_Sample, {"crop": None}).crop is None
    assert from_dict(_Sample, {"crop": 40}).crop == 40
    assert from_dict(_Sample, {"devices": 2}).devices == 2
    assert from_dict(_Sample, {"devices": "auto"}).devices == "auto"
    clip = from_dict(_Sample, {"clip": 1}).clip
    assert clip == 1.0 and isinstance(clip, float)  # an int is a float where a float is asked for
    assert from_dict(_Sample, {"clip": None}).clip is None


def test_unions_and_optional_reject_the_rest() -> None:
    assert _error({"crop": "abc"}) == "crop must be int or None, got 'abc'"
    assert _error({"devices": [1]}) == "devices must be int or str, got [1]"
    assert _error({"clip": "x"}) == "clip must be float or None, got 'x'"


def test_bool_is_not_an_int_and_an_int_is_not_a_bool() -> None:
    assert _error({"count": True}) == "count must be int, got True"
    assert _error({"crop": False}) == "crop must be int or None, got False"
    assert _error({"devices": True}) == "devices must be int or str, got True"
    assert _error({"flag": 1}) == "flag must be bool, got 1"
    assert _error({"inner": {"rate": True}}) == "inner.rate must be float, got True"


def test_list_elements_are_checked_with_their_index() -> None:
    assert from_dict(_Sample, {"inner": {"widths": (3, 4)}}).inner.widths == [3, 4]
    assert _error({"inner": {"widths": [1, "a"]}}) == "inner.widths[1] must be int, got 'a'"
    assert _error({"inner": {"widths": [1, True]}}) == "inner.widths[1] must be int, got True"
    assert _error({"inner": {"widths": 3}}) == "inner.widths must be a list of int, got 3"


def test_literal_allows_only_its_values() -> None:
    assert from_dict(_Sample, {"mode": "paper"}).mode == "paper"
    assert _error({"mode": "kl"}) == "mode must be one of ['paper', 'js'], got 'kl'"


def test_sections_must_be_mappings_and_keys_known() -> None:
    assert _error({"inner": 3}) == "inner must be a mapping, got 3"
    assert _error({"inner": {"depth": 3}}) == "unknown config key(s) inner.depth"


@pytest.mark.parametrize("override, message", [
    ("data.train_crop_frames=abc", "data.train_crop_frames must be int or None, got 'abc'"),
    ("model.visual.widths=[a,b,c,d]", "model.visual.widths[0] must be int, got 'a'"),
    ("trainer.devices=true", "trainer.devices must be int or str, got True"),
    ("loss.divergence=kl", "loss.divergence must be one of ['paper', 'js'], got 'kl'"),
    ("data.augment.enabled=1", "data.augment.enabled must be bool, got 1"),
])
def test_overrides_of_the_wrong_type_name_the_dotted_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_experiment_config("tiny", [override])
    assert str(caught.value) == message


def test_overrides_of_the_right_type_pass() -> None:
    config = load_experiment_config("tiny", ["data.train_crop_frames=48", "trainer.gradient_clip_val=1",
                                             "trainer.devices=2", "model.visual.widths=[4,8,8,16]"])
    assert config.data.train_crop_frames == 48 and config.trainer.devices == 2
    assert config.trainer.gradient_clip_val == 1.0 and isinstance(config.trainer.gradient_clip_val, float)
    assert config.model.visual.widths == [4, 8, 8, 16]


def test_cli_train_rejects_a_bad_override_before_looking_at_the_data(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-cache"
    code = main(["train", "--config", "tiny", "--data", str(missing), "--out", str(tmp_path / "run"),
                 "--no-progress", "data.train_crop_frames=abc"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["avcorr: error: data.train_crop_frames must be int or None, got 'abc'"]
    assert not (tmp_path / "run").exists()


def test_cli_train_on_a_missing_cache_creates_no_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--config", "tiny", "--data", str(tmp_path / "no-such-cache"), "--out", str(tmp_path / "run"),
                 "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-cache" in err[0]
    assert not (tmp_path / "run").exists()


def test_bundled_name_is_not_shadowed_by_a_local_folder_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = Path(config_module.__file__).parent / "configs"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    (tmp_path / "cpu").write_text("model: {embed_dim: 3}\n")
    assert resolve_config_path("tiny") == bundled / "tiny.yaml"
    assert resolve_config_path("cpu") == bundled / "cpu.yaml"
    assert load_experiment_config("cpu").model.embed_dim == load_experiment_config(bundled / "cpu.yaml").model.embed_dim


def test_a_suffix_or_a_separator_makes_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text("trainer: {max_epochs: 7}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "paper").write_text("trainer: {max_epochs: 8}\n")
    assert resolve_config_path("tiny.yaml") == Path("tiny.yaml")
    assert load_experiment_config("tiny.yaml").trainer.max_epochs == 7
    assert load_experiment_config("sub/paper").trainer.max_epochs == 8
    with pytest.raises(ConfigError, match="config file not found"):
        resolve_config_path("paper.yaml")  # a path, not the bundled name
    with pytest.raises(ConfigError, match="nonesuch: no such config file or bundled config"):
        resolve_config_path("nonesuch")
