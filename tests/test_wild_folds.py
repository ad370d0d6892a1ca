"""The wild corpus: catalog reading, generator families, pairing, and (family × real share) folds."""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from avcorr.data.catalog import CatalogClip, generator_family, paired_real, read_catalog
from avcorr.bench.wild.folds import Fold, build_folds, check_folds, deal_real_shares
from avcorr.errors import AvcorrError, InputError

COLUMNS = ["file", "label", "generator", "manipulation", "repo", "commit", "path_in_repo", "duration_s", "fps",
           "width", "height", "has_audio", "audio_sr", "license", "audio_source_note", "notes", "source_group"]


def _row(name: str, label: str, generator: str, group: str, repo: str | None = None, path_in_repo: str | None = None,
         notes: str = "", manipulation: str = "lip-sync") -> dict[str, str]:
    return {"file": f"clips/{name}.mp4", "label": label, "generator": generator,
            "manipulation": "none" if label == "real" else manipulation, "repo": repo or group, "commit": "abc",
            "path_in_repo": path_in_repo or f"{name}.mp4", "duration_s": "3.0", "fps": "25", "width": "256",
            "height": "256", "has_audio": "1", "audio_sr": "16000", "license": "MIT", "audio_source_note": "",
            "notes": notes, "source_group": group}


# Hallo 3 (JoyHallo ×2 + Hallo, one repo, which also holds a StyleTalk fake), SadTalker 3 (its repo
# has a real), Wav2Lip 3 (two repos + an HQ variant; w1's fake pairs with w1's real), and the small
# families JoyVASA 2, StyleTalk 1, an unnamed face swap 1 → "other". Reals: GRID 4, LRS2 2,
# VoxCeleb 2, one misc repo, plus the SadTalker and w1 reals.
ROWS = [
    _row("jh1", "fake", "JoyHallo", "org/hallo", manipulation="still-image-animation"),
    _row("jh2", "fake", "JoyHallo", "org/hallo", manipulation="still-image-animation"),
    _row("h1", "fake", "Hallo", "org/hallo", manipulation="still-image-animation"),
    _row("st1", "fake", "StyleTalk", "org/hallo", manipulation="still-image-animation"),
    _row("sad1", "fake", "SadTalker", "org/sad", notes="pairs examples/image/a input image with this output video"),
    _row("sad2", "fake", "SadTalker", "org/sad"),
    _row("sad3", "fake", "sadtalker (enhancer)", "org/sad"),
    _row("sadreal", "real", "", "org/sad", path_in_repo="examples/ref.mp4"),
    _row("w1fake", "fake", "Wav2Lip", "u/w1", path_in_repo="results/result_voice.mp4",
         notes="kind=video; pairs with real video.mp4 of same repo"),
    _row("w1real", "real", "", "u/w1", path_in_repo="video.mp4", notes="pairs with fake results/result_voice.mp4"),
    _row("w2fake", "fake", "Wav2Lip", "u/w2", path_in_repo="results/result_voice.mp4"),
    _row("w3fake", "fake", "Wav2Lip-HQ", "u/w3", path_in_repo="results/result_voice.mp4"),
    _row("vasa1", "fake", "JoyVASA", "org/vasa"),
    _row("vasa2", "fake", "JoyVASA", "org/vasa"),
    _row("swap", "fake", "unknown (not stated)", "u/swap", manipulation="face-swap"),
    *[_row(f"grid{i}", "real", "", "GRID", repo="lipnet") for i in range(4)],
    *[_row(f"lrs{i}", "real", "", "LRS2", repo="avsr") for i in range(2)],
    *[_row(f"vox{i}", "real", "", "VoxCeleb", repo="pcavs", path_in_repo="video.mp4") for i in range(2)],
    _row("misc", "real", "", "x/misc"),
]


def _write(folder: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "catalog.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture()
def clips(tmp_path: Path) -> list[CatalogClip]:
    return read_catalog(_write(tmp_path, ROWS), check_files=False)


def _by_name(folds: list[Fold]) -> dict[str, Fold]:
    return {f.name: f for f in folds}


@pytest.mark.parametrize("generator, manipulation, family", [
    ("JoyHallo", "", "Hallo"), ("Wav2Lip-HQ", "", "Wav2Lip"), ("Wav2Lip-HD", "", "Wav2Lip"),
    ("wav2lip_v2", "", "Wav2Lip"), ("WAV2LIP", "", "Wav2Lip"), ("DreamTalk (+super-resolution)", "", "DreamTalk"),
    ("sadtalker", "", "SadTalker"), ("unknown (not stated)", "face-swap", "unknown face-swap"),
    ("", "lip-sync", "unknown lip-sync"), ("BrandNewGen (v1)", "", "BrandNewGen"),
])
def test_generator_family(generator: str, manipulation: str, family: str) -> None:
    assert generator_family(generator, manipulation) == family


def test_read_catalog(tmp_path: Path, clips: list[CatalogClip]) -> None:
    assert len(clips) == len(ROWS)
    jh1 = clips[0]
    assert (jh1.clip_id, jh1.label, jh1.family, jh1.width, jh1.duration_s) == ("jh1", 1, "Hallo", 256, 3.0)
    assert jh1.path == (tmp_path / "clips" / "jh1.mp4").resolve() and jh1.path.is_absolute()
    assert {c.family for c in clips if c.label == 0} == {"real"}
    assert Counter(c.family for c in clips if c.label) == {
        "Hallo": 3, "SadTalker": 3, "Wav2Lip": 3, "JoyVASA": 2, "StyleTalk": 1, "unknown face-swap": 1}
    with pytest.raises(InputError, match=r"jh1\.mp4: named on line 2 of catalog\.csv but absent"):
        read_catalog(tmp_path)
    (tmp_path / "clips").mkdir()
    for row in ROWS:
        (tmp_path / row["file"]).touch()
    assert len(read_catalog(tmp_path)) == len(ROWS)


def test_read_catalog_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column.*source_group"):
        read_catalog(_write(tmp_path / "a", ROWS, [c for c in COLUMNS if c != "source_group"]), check_files=False)
    with pytest.raises(InputError, match="line 2: label 'maybe'"):
        read_catalog(_write(tmp_path / "b", [{**ROWS[0], "label": "maybe"}]), check_files=False)
    with pytest.raises(InputError, match="catalog not found"):
        read_catalog(tmp_path / "nowhere")
    minimal = ["file", "label", "generator", "manipulation", "source_group"]
    clip = read_catalog(_write(tmp_path / "c", ROWS[:1], minimal), check_files=False)[0]
    assert clip.width == 0 and clip.notes == "" and clip.family == "Hallo"


def test_paired_real(clips: list[CatalogClip]) -> None:
    by_id = {c.clip_id: c for c in clips}
    assert paired_real(by_id["w1fake"], clips) == by_id["w1real"]  # not vox*'s video.mp4: another repo
    assert paired_real(by_id["sad1"], clips) is None  # "pairs <image> with this output" names no clip
    assert paired_real(by_id["w2fake"], clips) is None and paired_real(by_id["w1real"], clips) is None


def _shares(folds: list[Fold], family: str = "Hallo") -> dict[str, set[str]]:
    """Share name → the reals on the test side of that family's fold of the share."""
    return {f.real_share: {i for i in f.test_ids if not i.startswith(("jh", "h1"))} for f in folds if f.family == family}


def test_real_shares_are_dealt_greedily(clips: list[CatalogClip]) -> None:
    # GRID (4) first → reals-1; LRS2 and VoxCeleb (2 each) → reals-2 (0, then 2 < 4); the three
    # one-real groups alternate (4-4 tie → reals-1, then reals-2, then reals-1): 6 and 5 reals.
    for seed in range(6):
        share = deal_real_shares(clips, 2, seed)
        assert share["GRID"] == "reals-1" and share["LRS2"] == share["VoxCeleb"] == "reals-2"
        assert Counter(share[c.source_group] for c in clips if c.label == 0) == {"reals-1": 6, "reals-2": 5}
    assert set(deal_real_shares(clips, 3).values()) == {"reals-1", "reals-2", "reals-3"}
    with pytest.raises(AvcorrError, match="7 real shares need as many real source groups; the catalog has 6"):
        deal_real_shares(clips, 7)


def test_folds_keep_the_rules(clips: list[CatalogClip]) -> None:
    folds = build_folds(clips)
    check_folds(folds, clips)
    by_id = {c.clip_id: c for c in clips}
    families = ["Hallo", "SadTalker", "Wav2Lip", "other"]
    assert [f.name for f in folds] == [f"{fam}|reals-{k}" for fam in families for k in (1, 2)]
    assert [(f.family, f.real_share) for f in folds[:2]] == [("Hallo", "reals-1"), ("Hallo", "reals-2")]
    named = _by_name(folds)
    share = deal_real_shares(clips, 2, 0)
    for fold in folds:
        test_groups = {by_id[i].source_group for i in fold.test_ids}
        assert not test_groups & {by_id[i].source_group for i in fold.train_ids}
        held = {i for i in fold.test_ids if by_id[i].label == 1}
        assert held == {c.clip_id for c in clips if c.label == 1 and c.family in fold.families}
        # The share's reals are held out; so are the forced ones; every other real trains.
        reals = {i for i in fold.test_ids if by_id[i].label == 0}
        assert {c.clip_id for c in clips if c.label == 0 and share[c.source_group] == fold.real_share} <= reals
        assert reals | {i for i in fold.train_ids if by_id[i].label == 0} == {c.clip_id for c in clips if c.label == 0}
    assert named["other|reals-1"].families == ["JoyVASA", "StyleTalk", "unknown face-swap"]
    assert all(f in named["other|reals-2"].notes[0] for f in ("JoyVASA (2)", "StyleTalk (1)", "unknown face-swap (1)"))
    # Forced reals (the paired real; the real of a fake's own group) sit on the test side of both shares' folds.
    for k in (1, 2):
        assert "w1real" in named[f"Wav2Lip|reals-{k}"].test_ids and "sadreal" in named[f"SadTalker|reals-{k}"].test_ids
        assert "w1real" not in named[f"Hallo|reals-{k}"].test_ids or share["u/w1"] == f"reals-{k}"
    borrowed = "SadTalker|reals-1" if share["org/sad"] == "reals-2" else "SadTalker|reals-2"
    assert any("org/sad (reals-" in n for n in named[borrowed].notes)
    # The StyleTalk fake shares the Hallo group: excluded from the Hallo folds, and vice versa; so are the
    # fakes of a group whose reals are in the fold's share (SadTalker's, Wav2Lip's w1fake).
    for k in (1, 2):
        mixed = {c.clip_id for c in clips if c.label == 1 and share.get(c.source_group) == f"reals-{k}"}
        assert set(named[f"Hallo|reals-{k}"].excluded_ids) == {"st1"} | mixed
        mixed.discard("st1")
        assert set(named[f"other|reals-{k}"].excluded_ids) == {"jh1", "jh2", "h1"} | mixed
    # Every fake held out twice (once per share); a Hallo fold's reals are exactly its share's.
    held_out = Counter(i for f in folds for i in f.test_ids)
    assert all(held_out[c.clip_id] == 2 for c in clips if c.label == 1)
    hallo = _shares(folds)
    assert hallo["reals-1"] | hallo["reals-2"] == {c.clip_id for c in clips if c.label == 0}
    assert not hallo["reals-1"] & hallo["reals-2"] and {f"grid{i}" for i in range(4)} <= hallo["reals-1"]


def test_folds_are_deterministic_for_a_seed(clips: list[CatalogClip]) -> None:
    assert build_folds(clips, seed=4) == build_folds(clips, seed=4)
    placements = set()
    for seed in range(8):
        folds = build_folds(clips, seed=seed)
        check_folds(folds, clips)
        placements.add(next(f.real_share for f in folds if f.family == "Hallo" and "misc" in f.test_ids))
    assert placements == {"reals-1", "reals-2"}  # the one-real groups tie: the seed orders them


def test_three_shares_and_min_family_clips(clips: list[CatalogClip]) -> None:
    folds = build_folds(clips, real_shares=3)
    check_folds(folds, clips)
    assert len(folds) == 12 and {f.real_share for f in folds} == {"reals-1", "reals-2", "reals-3"}
    assert all(Counter(i for f in folds for i in f.test_ids)[c.clip_id] == 3 for c in clips if c.label == 1)
    folds = build_folds(clips, min_family_clips=2, real_shares=1)
    check_folds(folds, clips)
    assert [f.name for f in folds] == [f"{f}|reals-1" for f in ("Hallo", "JoyVASA", "SadTalker", "Wav2Lip", "other")]
    assert _by_name(folds)["other|reals-1"].families == ["StyleTalk", "unknown face-swap"]
    assert Fold.from_dict(folds[0].to_dict()) == folds[0]


def test_check_folds_catches_leaks(clips: list[CatalogClip]) -> None:
    folds = build_folds(clips)
    named = _by_name(folds)

    def swap(old: Fold, new: Fold) -> list[Fold]:
        return [new if f is old else f for f in folds]

    hallo = named["Hallo|reals-1"]
    straddle = replace(hallo, test_ids=[i for i in hallo.test_ids if i != "grid0"], train_ids=hallo.train_ids + ["grid0"])
    with pytest.raises(ValueError, match="source group.*GRID"):
        check_folds(swap(hallo, straddle), clips)
    w = named["Wav2Lip|reals-2"]
    unpaired = replace(w, test_ids=[i for i in w.test_ids if i != "w1real"], excluded_ids=w.excluded_ids + ["w1real"])
    with pytest.raises(ValueError, match="paired real w1real"):
        check_folds(swap(w, unpaired), clips)
    with pytest.raises(ValueError, match="family other: real shares reals-1, expected one fold each of reals-1, reals-2"):
        check_folds(folds[:-1], clips)
    h2 = named["Hallo|reals-2"]
    grid = [f"grid{i}" for i in range(4)]
    doubled = replace(h2, test_ids=h2.test_ids + grid, train_ids=[i for i in h2.train_ids if i not in grid])
    with pytest.raises(ValueError, match="grid0 is on the test side of 2 folds but not forced"):
        check_folds(swap(h2, doubled), clips)
    missing = replace(h2, test_ids=[i for i in h2.test_ids if i != "h1"], excluded_ids=h2.excluded_ids + ["h1"])
    with pytest.raises(ValueError, match="test fakes differ"):
        check_folds(swap(h2, missing), clips)
    with pytest.raises(ValueError, match="name is not Hallo|reals-2"):
        check_folds(swap(h2, replace(h2, name="Hallo")), clips)


@pytest.mark.shared
def test_folds_on_the_shared_catalog(shared_data: Path) -> None:
    clips = read_catalog(shared_data)
    folds = build_folds(clips)
    check_folds(folds, clips)
    by_id = {c.clip_id: c for c in clips}
    named = _by_name(folds)
    share = deal_real_shares(clips)
    print()
    for k in ("reals-1", "reals-2"):
        groups = sorted({g for g, s in share.items() if s == k})
        print(f"{k}: {sum(1 for c in clips if c.label == 0 and share[c.source_group] == k)} reals in "
              f"{len(groups)} group(s): {', '.join(groups)}")
    for f in folds:
        fakes = sum(by_id[i].label for i in f.test_ids)
        print(f"{f.name:24s} test fakes {fakes:3d}  test reals {len(f.test_ids) - fakes:3d}  "
              f"train {len(f.train_ids):3d}  excluded {len(f.excluded_ids):2d}  {'; '.join(f.notes)}")
    # properties, not counts: the corpus grows (170 clips, then 244, ...)
    families = {c.family for c in clips if c.label == 1}
    shares = sorted({f.real_share for f in folds})
    assert shares == ["reals-1", "reals-2"] and all(share[c.source_group] in shares for c in clips if c.label == 0)
    for f in folds:
        test, train = set(f.test_ids), set(f.train_ids)
        assert len(test | train | set(f.excluded_ids)) == len(clips)  # every clip on exactly one side
        assert not {by_id[i].source_group for i in test} & {by_id[i].source_group for i in train}, f.name
        assert {i for i in test if by_id[i].label == 1} == {c.clip_id for c in clips if c.label == 1 and c.family in f.families}
        assert any(by_id[i].label == 0 for i in test) and not any(by_id[i].family in f.families for i in train)
    for family in families:  # each fake family held out: in one fold family, once per real share
        owners = [f for f in folds if family in f.families]
        assert sorted(f.real_share for f in owners) == shares and len({f.family for f in owners}) == 1, family
    for clip in clips:
        if clip.label == 0:  # every real is scored by some fold
            assert any(clip.clip_id in f.test_ids for f in folds), clip.clip_id
    assert share["GRID"] == "reals-1"
    hallo = {by_id[i].family for i in named["Hallo|reals-1"].test_ids if by_id[i].label}
    assert hallo == set(named["Hallo|reals-1"].families) and "JoyHallo" not in families  # JoyHallo is Hallo's
    wav2lip = {c.generator for c in clips if c.label == 1 and c.clip_id in named["Wav2Lip|reals-2"].test_ids}
    assert len(wav2lip) > 1  # with the HQ/HD/v2 variants
    small = [f for f in named["other|reals-1"].families if sum(c.family == f for c in clips if c.label == 1) < 3]
    assert small == named["other|reals-1"].families  # "other" pools the families with fewer than 3 fakes
    alvate = next(c for c in clips if c.label == 0 and c.repo == "davicoscarelli/Alvate")
    assert alvate.clip_id in named["Wav2Lip|reals-1"].test_ids and alvate.clip_id in named["Wav2Lip|reals-2"].test_ids
