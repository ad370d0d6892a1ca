"""prepare under faults: cache names of any id, workers that die with their parent, a stopped batch
that keeps what it wrote, a rerun that loses and duplicates nothing, resource errors as reasons."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avcorr.cli.common import Stopped, stop_status
from avcorr.data.clip_cache import NAME_MAX_BYTES, ClipCache, clip_file, file_stem, load_meta
from avcorr.data.manifest import ManifestRow
from avcorr.errors import InputError
from avcorr.prepare import pipeline as prep
from media_fixtures import StubTracker, index_frames, tone, write_media

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def stub_tracker(monkeypatch):
    monkeypatch.setattr(prep, "FaceTracker", StubTracker)


def _good(path: Path, seconds: float = 0.4) -> Path:
    return write_media(path, index_frames(int(25 * seconds), (32, 32)), tone(seconds))


# ------------------------------------------------------------------------------------ cache names


def test_simple_ids_keep_their_names_so_old_caches_stay_valid():
    for clip_id in ("synth_00001", "id00017-A.B+c", "é_clip"):
        assert file_stem(clip_id) == clip_id
    assert clip_file("/c", "abc").name == "abc.npz"


def test_ids_differing_only_in_replaced_characters_get_distinct_names():
    ids = ["a/b", "a_b", "a b", "a:b", "a\nb", ".hidden", "..", "x~2", "a/b/"]
    names = [file_stem(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert names[1] == "a_b"  # already safe: unchanged
    for clip_id, name in zip(ids, names):
        assert "/" not in name and "\n" not in name and not name.startswith(".")
        if clip_id != "a_b":
            assert "~" in name and len(name.rsplit("~", 1)[1]) == 12
    assert file_stem("a/b") == file_stem("a/b")  # stable across calls (and runs: a hash, not a counter)


@pytest.mark.parametrize("clip_id", ["v" * 247, "w" * 300, "é" * 200, "🙂" * 100 + "/x"])
def test_long_ids_fit_in_a_file_name_and_stay_unique(clip_id):
    name = file_stem(clip_id) + ".npz"
    assert len(name.encode()) <= NAME_MAX_BYTES
    assert file_stem(clip_id) != file_stem(clip_id + "z")
    if len(clip_id) == 247:
        assert name == clip_id + ".npz"  # 251 bytes: still its own name


def test_a_247_character_clip_id_prepares_and_resumes(tmp_path, stub_tracker):
    long_id = "gen_" + "x" * 243
    wide_id = "ünïcödé " * 40  # 600+ bytes of UTF-8 with spaces
    rows = [ManifestRow(clip_id=long_id, video_path=str(_good(tmp_path / "a.mp4")), label=0),
            ManifestRow(clip_id=wide_id, video_path=str(_good(tmp_path / "b.mp4")), label=0),
            ManifestRow(clip_id="plain", video_path=str(_good(tmp_path / "c.mp4")), label=0)]
    first = prep.prepare_manifest(rows, tmp_path / "cache", workers=1)
    assert (first.done, first.failed) == (3, 0)
    cache = ClipCache(tmp_path / "cache")
    assert {load_meta(p).clip_id for p in cache.clip_files()} == {long_id, wide_id, "plain"}
    assert all(len(p.name.encode()) <= NAME_MAX_BYTES for p in cache.clip_files())
    again = prep.prepare_manifest(rows, tmp_path / "cache", workers=1)
    assert (again.done, again.skipped) == (0, 3)


# ------------------------------------------------------------------------------------ resource errors


def test_resource_errors_fail_the_clip_with_a_reason_that_says_so(tmp_path, monkeypatch, stub_tracker):
    good = _good(tmp_path / "good.mp4")
    calls = {"n": 0}
    real = prep.audio_features.student_mfcc

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        if calls["n"] == 2:
            raise MemoryError()
        return real(*args, **kwargs)

    monkeypatch.setattr(prep.audio_features, "student_mfcc", flaky)
    rows = [ManifestRow(clip_id=f"c{i}", video_path=str(good), label=0) for i in range(3)]
    summary = prep.prepare_manifest(rows, tmp_path / "cache", workers=1)
    assert (summary.done, summary.failed) == (1, 2)
    reasons = {o.clip_id: o for o in summary.outcomes if o.status == "failed"}
    assert reasons["c0"].stage == "features" and "out of memory or system resources (EAGAIN" in reasons["c0"].reason
    assert "out of memory" in reasons["c1"].reason
    assert "ENOSPC" in prep.resource_reason(OSError(errno.ENOSPC, "No space left on device"))


def test_other_os_errors_are_not_called_resource_errors(tmp_path):
    stage = prep._Stages(tmp_path / "x.mp4")
    with pytest.raises(InputError, match="unexpected PermissionError"):
        with stage("decode"):
            raise PermissionError(errno.EACCES, "Permission denied")


# ------------------------------------------------------------------------------------ stops and kills


def test_a_stopped_pool_ends_its_workers_keeps_what_it_wrote_and_the_rerun_completes(tmp_path):
    """SIGTERM arrives (as :class:`Stopped`) after the first clip: no worker is left, the manifest
    lists exactly the files written, and a rerun prepares the rest without touching them."""
    import multiprocessing

    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    synth = synthesize_dataset(tmp_path / "synth", SynthOptions(clips=4, seed=3, size=96, identities=1))
    rows = [ManifestRow(clip_id=c.clip_id, video_path=str(c.video_path), label=0) for c in synth.clips]

    def stop_after_first(items, total):
        for item in items:
            yield item
            raise Stopped(signal.SIGTERM)

    cache = tmp_path / "cache"
    with pytest.raises(Stopped) as stopped:
        prep.prepare_manifest(rows, cache, workers=2, progress=stop_after_first)
    assert stop_status(stopped.value) == 143
    assert multiprocessing.active_children() == []
    files = {p.name: p.stat().st_mtime_ns for p in ClipCache(cache).clip_files()}
    assert sorted(r["file"].split("/")[-1] for r in ClipCache(cache).read_manifest()) == sorted(files)
    assert 1 <= len(files) < 4
    again = prep.prepare_manifest(rows, cache, workers=2)
    assert (again.done, again.skipped, again.failed) == (4 - len(files), len(files), 0), again.outcomes
    assert sorted(o.clip_id for o in again.outcomes) == sorted(r.clip_id for r in rows)  # each once
    after = {p.name: p.stat().st_mtime_ns for p in ClipCache(cache).clip_files()}
    assert len(after) == 4 and all(after[name] == stamp for name, stamp in files.items())


def _session_pids(sid: int) -> list[int]:
    """Processes (not zombies) whose session id is ``sid`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


_POOL_SCRIPT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from avcorr.prepare.pipeline import die_with_parent
pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent, initargs=(os.getpid(),))
futures = [pool.submit(time.sleep, 120) for _ in range(2)]
while len(pool._processes) < 2:
    time.sleep(0.05)
time.sleep(1.0)
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_and_the_resource_tracker_die_with_a_sigkilled_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _POOL_SCRIPT], stdout=subprocess.PIPE, text=True,
                              start_new_session=True, cwd=tmp_path)
    try:
        assert parent.stdout.readline().strip() == "ready"
        assert len(_session_pids(parent.pid)) >= 3  # parent, two workers (and the resource tracker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5.0
        while _session_pids(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_pids(parent.pid) == []
    finally:
        for pid in _session_pids(parent.pid):
            os.kill(pid, signal.SIGKILL)


def test_die_with_parent_is_a_no_op_in_the_parent_itself():
    def mine(signum, frame):  # a handler of the parent's own (inherited handlers differ: a background job ignores SIGINT)
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, mine)
    try:
        prep.die_with_parent(os.getpid())  # workers=1 runs in the parent: nothing to watch, SIGINT untouched
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_of_the_prepare_cli_exits_143_and_leaves_no_process(tmp_path):
    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    synth = synthesize_dataset(tmp_path / "synth", SynthOptions(clips=8, seed=4, size=96, identities=1))
    cache = tmp_path / "cache"
    process = subprocess.Popen([sys.executable, "-m", "avcorr.cli.main", "prepare", str(synth.manifest_path),
                                "--out", str(cache), "--workers", "2", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not list((cache / "clips").glob("*.npz")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the batch ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 143, stderr
        assert "prepare stopped" in stderr and "Traceback" not in stderr
        deadline = time.monotonic() + 5.0
        while _session_pids(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_pids(process.pid) == []
        written = sorted(p.name for p in ClipCache(cache).clip_files())
        assert sorted(r["file"].split("/")[-1] for r in ClipCache(cache).read_manifest()) == written
    finally:
        for pid in _session_pids(process.pid):
            os.kill(pid, signal.SIGKILL)


def test_an_old_cache_file_of_an_id_now_hashed_is_adopted_not_prepared_again(tmp_path, stub_tracker):
    from avcorr.data.clip_cache import safe_name

    rows = [ManifestRow(clip_id="real/id01/a", video_path=str(_good(tmp_path / "a.mp4")), label=0)]
    cache = ClipCache(tmp_path / "cache")
    prep.prepare_manifest(rows, cache.root, workers=1)
    new = cache.path_for("real/id01/a")
    legacy = new.with_name(safe_name("real/id01/a") + ".npz")  # the name before hashed names
    new.rename(legacy)
    stamp = legacy.stat().st_mtime_ns
    again = prep.prepare_manifest(rows, cache.root, workers=1)
    assert (again.done, again.skipped) == (0, 1)
    assert [p.name for p in cache.clip_files()] == [new.name] and new.stat().st_mtime_ns == stamp
    assert [r["clip_id"] for r in cache.read_manifest()] == ["real/id01/a"]
    legacy.write_bytes(new.read_bytes())  # an old file of *another* id that maps to the same safe name
    assert not cache.has("real_id01/a") and legacy.exists()
