"""Manifest adapters: FakeAVCeleb, CMDFD, real/fake folders and the paper's CSV."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from avcorr.data import adapters
from avcorr.data.manifest import read_manifest
from avcorr.errors import InputError


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00")


def _by_id(rows):
    return {r.clip_id: r for r in rows}


def test_fakeavceleb_from_file_names(tmp_path):
    root = tmp_path / "FakeAVCeleb_v1.2"
    _touch(root,
           "RealVideo-RealAudio/African/men/id00076/00109.mp4",
           "RealVideo-FakeAudio/African/men/id00076/00109_fake.mp4",
           "FakeVideo-RealAudio/African/men/id00076/00109_id00166_wavtolip.mp4",
           "FakeVideo-RealAudio/Asian (East)/women/id00010/00001_faceswap.mp4",
           "FakeVideo-FakeAudio/African/men/id00076/00109_2_id00166_wavtolip.mp4",
           "FakeVideo-FakeAudio/African/men/id00076/00109_10_id00166_fsgan-wavtolip.mp4",
           "README.txt")
    rows = _by_id(adapters.fakeavceleb_rows(root))
    assert len(rows) == 6
    real = rows["RealVideo-RealAudio/African/men/id00076/00109"]
    assert (real.label, real.audio_label, real.video_label, real.sync_label, real.method) == (0, 0, 0, 0, "real")
    assert real.source_id == "id00076" and real.dataset == "FakeAVCeleb"
    rvfa = rows["RealVideo-FakeAudio/African/men/id00076/00109_fake"]
    assert (rvfa.label, rvfa.audio_label, rvfa.video_label, rvfa.sync_label, rvfa.method) == (1, 1, 0, 1, "rtvc")
    assert rows["FakeVideo-RealAudio/African/men/id00076/00109_id00166_wavtolip"].method == "wav2lip"
    assert rows["FakeVideo-RealAudio/Asian (East)/women/id00010/00001_faceswap"].method == "faceswap"
    fvfa = rows["FakeVideo-FakeAudio/African/men/id00076/00109_10_id00166_fsgan-wavtolip"]
    assert fvfa.method == "fsgan-wav2lip" and (fvfa.audio_label, fvfa.video_label) == (1, 1)


def test_fakeavceleb_methods_from_meta_data(tmp_path):
    root = tmp_path / "FakeAVCeleb"
    _touch(root, "FakeVideo-FakeAudio/Caucasian (European)/women/id01234/00001_id00002_abc_faceswap.mp4")
    (root / "meta_data.csv").write_text(
        "source,target1,target2,method,category,type,race,gender,path,\n"
        "id01234,id00002,-,faceswap-wav2lip,D,FakeVideo-FakeAudio,Caucasian (European),women,"
        "00001_id00002_abc_faceswap.mp4,FakeAVCeleb/FakeVideo-FakeAudio/Caucasian (European)/women/id01234\n")
    (row,) = adapters.fakeavceleb_rows(root)
    assert row.method == "faceswap-wav2lip" and row.source_id == "id01234"


def test_cmdfd_methods_and_sidecar_audio(tmp_path):
    root = tmp_path / "CMDFD"
    _touch(root, "Wav2Lip/a1.mp4", "Wav2Lip/audio/a1.wav", "Wav2Lip_Self/b1.mp4", "Wav2Lip_Self/b1.wav",
           "MakeItTalk/c1.mp4", "audio2head/d1.mp4", "VideoReTalking_self/e1.mp4", "real/r1.mp4", "notes/x.mp4")
    rows = _by_id(adapters.cmdfd_rows(root))
    assert {r.method for r in rows.values()} == {"Wav2Lip", "Wav2Lip_Self", "MakeItTalk", "Audio2Head", "VideoReTalking_Self", "real"}
    assert "notes/x" not in rows
    assert rows["Wav2Lip/a1"].audio_path.endswith("Wav2Lip/audio/a1.wav")
    assert rows["Wav2Lip_Self/b1"].audio_path.endswith("b1.wav")
    assert rows["MakeItTalk/c1"].audio_path == ""
    assert (rows["real/r1"].label, rows["Wav2Lip/a1"].label, rows["Wav2Lip/a1"].video_label) == (0, 1, 1)


def test_folder_any_depth_and_methods(tmp_path):
    _touch(tmp_path, "real/a/b/one.MP4", "real/two.webm", "fake/wav2lip/x/three.avi", "fake/four.mov", "fake/skip.txt", "other/five.mp4")
    rows = _by_id(adapters.folder_rows(tmp_path))
    assert set(rows) == {"real/a/b/one", "real/two", "fake/wav2lip/x/three", "fake/four"}
    assert rows["fake/wav2lip/x/three"].method == "wav2lip" and rows["fake/four"].method == "unknown"
    assert rows["real/two"].label == 0 and rows["fake/four"].label == 1
    with pytest.raises(InputError, match="real/"):
        adapters.folder_rows(tmp_path / "other")


PAPER_HEADER = "ID_Name,Audio_Path,Video_Path,ENtire_Label,Audio_Label,Video_Label,Identi_Label,Sync_Label,Frame_Len,Audio_Len,FPS,AudioSamRate\n"


def test_paper_csv_imports_as_it_is_with_root_remap(tmp_path):
    csv_path = tmp_path / "train.csv"
    csv_path.write_text(PAPER_HEADER
                        + "id1,/data/old/FakeAVCeleb/x/1.wav,/data/old/FakeAVCeleb/x/1.mp4,0,0,0,0,0,100,64000,25,16000\n"
                        + "id2,/data/old/FakeAVCeleb/y/2.mp4,/data/old/FakeAVCeleb/y/2.mp4,1,1,0,0,1,100,64000,25,16000\n")
    rows = adapters.paper_csv_rows(csv_path, root=tmp_path / "new", strip_prefix="/data/old")
    assert rows[0].video_path == str(tmp_path / "new/FakeAVCeleb/x/1.mp4")
    assert rows[0].audio_path == str(tmp_path / "new/FakeAVCeleb/x/1.wav")
    assert rows[1].audio_path == ""  # same file as the video: use its own track
    assert (rows[1].label, rows[1].audio_label, rows[1].video_label, rows[1].sync_label) == (1, 1, 0, 1)
    flipped = adapters.paper_csv_rows(csv_path, root=tmp_path, invert_labels=True)
    assert [r.label for r in flipped] == [1, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="ENtire_Label"):
        adapters.paper_csv_rows(bad)


def test_manifest_cli_writes_a_readable_manifest(tmp_path):
    _touch(tmp_path / "ds", "real/one.mp4", "fake/wav2lip/two.mp4", "fake/wav2lip/two.wav")
    out = tmp_path / "m.csv"
    result = subprocess.run([sys.executable, "-m", "avcorr.cli.main", "manifest", "folder", str(tmp_path / "ds"), "--out", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = _by_id(read_manifest(out))
    assert set(rows) == {"real/one", "fake/wav2lip/two"}
    assert rows["fake/wav2lip/two"].audio_path == str((tmp_path / "ds/fake/wav2lip/two.wav").resolve())
    with out.open() as handle:
        assert not Path(next(csv.DictReader(handle))["video_path"]).is_absolute()  # portable: relative to the CSV


def test_prepare_reads_the_paper_csv_directly(tmp_path):
    from avcorr.cli.prepare import load_any_manifest

    csv_path = tmp_path / "p.csv"
    csv_path.write_text(PAPER_HEADER + "id1,,clips/1.mp4,1,0,1,0,0,100,64000,25,16000\n")
    (row,) = load_any_manifest(csv_path)
    assert row.video_path == str(tmp_path / "clips/1.mp4") and row.label == 1
