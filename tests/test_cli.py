"""The `avcorr` entry point: subcommand discovery, exit codes, one-line user errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avcorr.cli.main import build_app, main

EXPECTED = {"train", "evaluate", "prepare", "manifest", "detect", "synth", "forge", "convert-checkpoint", "demo", "bench", "teacher"}


def test_every_subcommand_is_registered() -> None:
    import typer.main

    group = typer.main.get_command(build_app())
    assert EXPECTED <= set(group.commands)  # type: ignore[attr-defined]


def test_user_error_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--checkpoint", str(tmp_path / "missing_run"), "--data", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("avcorr: error:") and str(tmp_path) in err and "\n" not in err


def test_usage_error_is_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--no-such-option"]) != 0


def test_typer_exit_codes_propagate() -> None:
    import typer

    from avcorr.cli import main as main_module

    app = typer.Typer()

    @app.command()
    def fail() -> None:
        raise typer.Exit(3)

    @app.command()
    def ok() -> None:
        pass

    original = main_module.build_app
    main_module.build_app = lambda: app  # type: ignore[assignment]
    try:
        assert main_module.main(["fail"]) == 3
    finally:
        main_module.build_app = original


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "avcorr.cli.main", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "detect" in out.stdout


def test_teacher_options_parse_and_missing_deep_avsr_weights_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from avcorr.cli.prepare import parse_teacher_options

    assert parse_teacher_options(["audio_model=/a/b.pt", "device=cpu", "use_transcripts=true"]) == {
        "audio_model": "/a/b.pt", "device": "cpu", "use_transcripts": True}
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip_id,video_path,label\nx,x.mp4,0\n")
    code = main(["prepare", str(manifest), "--out", str(tmp_path / "cache"), "--teacher", "deep_avsr",
                 "--teacher-option", f"audio_model={tmp_path / 'missing.pt'}"])
    err = capsys.readouterr().err
    assert code == 2 and "video_model" in err and "visual_frontend" in err
