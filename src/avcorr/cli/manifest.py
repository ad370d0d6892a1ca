"""``avcorr manifest``: build a manifest CSV from a dataset folder (or the paper's CSV)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json
from avcorr.data.adapters import cmdfd_rows, fakeavceleb_rows, folder_rows, paper_csv_rows, unique_ids
from avcorr.data.manifest import write_manifest


def _write(rows: list, out: Path, as_json: bool) -> None:
    rows = unique_ids(rows)
    write_manifest(out, rows, relative_to=out.parent)
    counts = Counter(r.method for r in rows)
    no_audio = sum(1 for r in rows if r.audio_path == "" and r.method != "real")
    if as_json:
        print_json({"manifest": str(out), "clips": len(rows), "real": sum(r.label == 0 for r in rows),
                    "fake": sum(r.label == 1 for r in rows), "methods": dict(sorted(counts.items()))})
        return
    typer.echo(f"{out}: {len(rows)} clips ({sum(r.label == 0 for r in rows)} real, {sum(r.label == 1 for r in rows)} fake)")
    for method, count in sorted(counts.items()):
        typer.echo(f"  {method:<24} {count}")
    if no_audio and rows and rows[0].dataset == "CMDFD":
        typer.echo(f"  note: {no_audio} fake clip(s) have no separate audio file; they use the video's own track", err=True)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Build a manifest CSV (one row per clip) from a dataset as laid out on disk.", no_args_is_help=True)
    app.add_typer(group, name="manifest")

    out_option = typer.Option(..., "--out", help="Manifest CSV to write.")
    json_option = typer.Option(False, "--json", help="Print a JSON summary.")

    @group.command("fakeavceleb")
    def fakeavceleb(root: Path = typer.Argument(..., help="FakeAVCeleb folder (holding RealVideo-RealAudio, ...)."),
                    out: Path = out_option, as_json: bool = json_option) -> None:
        """FakeAVCeleb v1.2: four category folders; methods from meta_data.csv or the file names."""
        _write(fakeavceleb_rows(root), out, as_json)

    @group.command("cmdfd")
    def cmdfd(root: Path = typer.Argument(..., help="CMDFD folder (Wav2Lip, MakeItTalk, Audio2Head, VideoReTalking, *_Self, real)."),
              out: Path = out_option, as_json: bool = json_option) -> None:
        """CMDFD: one folder per method; separate audio files are matched by name."""
        _write(cmdfd_rows(root), out, as_json)

    @group.command("folder")
    def folder(root: Path = typer.Argument(..., help="Folder with real/ and fake/ subfolders (any depth below)."),
               out: Path = out_option, dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name (default: the folder's name)."),
               as_json: bool = json_option) -> None:
        """Any folder of real/ and fake/ videos; the first folder under fake/ names the method."""
        _write(folder_rows(root, dataset), out, as_json)

    @group.command("paper")
    def paper(csv_path: Path = typer.Argument(..., help="The original repository's CSV (ID_Name, Audio_Path, Video_Path, ENtire_Label, ...)."),
              out: Path = out_option,
              root: Optional[Path] = typer.Option(None, "--root", help="Folder the CSV's media paths are remapped to."),
              strip_prefix: Optional[str] = typer.Option(None, "--strip-prefix", help="Prefix removed from absolute paths before joining --root."),
              invert_labels: bool = typer.Option(False, "--invert-labels", help="The CSV uses 1 = real."),
              dataset: str = typer.Option("", "--dataset", help="Dataset name to record."),
              as_json: bool = json_option) -> None:
        """Import the paper's CSV as it is (labels 1 = fake unless --invert-labels)."""
        _write(paper_csv_rows(csv_path, root, strip_prefix, invert_labels, dataset), out, as_json)
