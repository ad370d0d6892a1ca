"""`avcorr serve`: the API round trip, failures that stay scans, the upload limit, stored names,
restarts, the token and binding rules, and one scan through the real default detector."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from avcorr.cli.main import main
from avcorr.detect.bundled import DEFAULT_DETECTOR
from avcorr.detect.cue_detector import MODE as CUE_MODE
from avcorr.detect.verdict import BANDS
from avcorr.errors import ConfigError
from avcorr.serve.access import check_binding, is_loopback
from avcorr.serve.app import create_app
from avcorr.serve.queue import LocalQueue
from avcorr.serve.store import MAX_ATTEMPTS, ScanQuery, ScanStore
from avcorr.serve.uploads import FRAMING_BYTES, display_name, stored_name
from serve_fixtures import WholeFrameTracker, load_known, make_clip, wait_for

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "src/avcorr/schemas/detect.schema.json").read_text())
MiB = 2**20


def serve(data: Path, max_bytes: int = 8 * MiB, token: str | None = None, score: float = 0.9, load=None,
          client: tuple[str, int] = ("127.0.0.1", 50000)) -> TestClient:
    """A client of a fresh app over ``data`` (the queue starts when the client is entered)."""
    store = ScanStore(data)
    queue = LocalQueue(store, workers=1, load=load or load_known(score))
    app = create_app(store, queue, max_upload_bytes=max_bytes, token=token, detectors=[DEFAULT_DETECTOR, "zero-shot", "animation-cues"])
    return TestClient(app, client=client)


def post(client: TestClient, name: str, content: bytes, **fields: str):
    return client.post("/api/v1/scans", files={"file": (name, content, "video/mp4")}, data=fields)


def stored_files(data: Path) -> list[Path]:
    return sorted(p for p in (data / "uploads").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4").read_bytes()


def test_round_trip_on_a_clip(tmp_path, clip):
    with serve(tmp_path / "data", score=0.9) as client:
        response = post(client, "interview.mp4", clip)
        assert response.status_code == 202
        scan_id = response.json()["id"]
        assert response.headers["location"] == f"/api/v1/scans/{scan_id}"
        scan = wait_for(client, scan_id)
        assert (scan["status"], scan["band"], scan["score"], scan["false_alarm_rate"], scan["error"]) == \
            ("done", "fake", 0.9, 0.05, None)  # 0.9 >= the fake threshold 0.8
        result = scan["result"]
        assert result["path"] == "interview.mp4" and result["band"] == "fake" and result["calibration_clips"] == 20
        pytest.importorskip("jsonschema").validate({"schema_version": scan["schema_version"], "videos": [result]}, SCHEMA)
        report = client.get(scan["report_url"])
        assert report.status_code == 200 and "interview.mp4" in report.text and "FAKE" in report.text
        listed = client.get("/api/v1/scans").json()
        assert listed["total"] == 1 and listed["scans"][0]["id"] == scan_id and "result" not in listed["scans"][0]
        assert client.get("/api/v1/health").json()["scans"] == {"queued": 0, "running": 0, "done": 1, "failed": 0}
    # stored by id, its report beside the database
    assert [p.name for p in stored_files(tmp_path / "data")] == [f"{scan_id}.mp4"]
    assert (tmp_path / "data" / "reports" / scan_id / "index.html").is_file()


def test_a_file_that_is_not_a_video_fails_with_its_reason_and_the_server_answers(tmp_path, clip):
    with serve(tmp_path / "data", score=0.7) as client:
        bad = post(client, "notes.mp4", b"this is not a video\n" * 50)
        assert bad.status_code == 202
        scan = wait_for(client, bad.json()["id"])
        assert scan["status"] == "failed" and scan["band"] is None and scan["result"]["error"] == scan["error"]
        assert scan["error"].startswith("notes.mp4: ") and "\n" not in scan["error"]
        assert str(tmp_path) not in scan["error"]  # names the client's file, not the server's path
        assert client.get(scan["report_url"]).status_code == 200  # the report lists the failure
        assert client.get("/api/v1/health").status_code == 200
        good = wait_for(client, post(client, "after.mp4", clip).json()["id"])
        assert (good["status"], good["band"]) == ("done", "uncertain")  # 0.6 <= 0.7 < 0.8


def test_uploads_over_the_limit_get_413_and_nothing_is_stored(tmp_path):
    data = tmp_path / "data"
    limit = 1 * MiB
    with serve(data, max_bytes=limit) as client:
        # declared too large (Content-Length): refused before the body is read
        assert post(client, "big.mp4", b"\0" * (limit + FRAMING_BYTES + 1)).status_code == 413
        # within the framing room the file itself is counted: one byte over the limit is refused
        refused = post(client, "big.mp4", b"\0" * (limit + 1))
        assert refused.status_code == 413 and "upload limit" in refused.json()["error"]
        # no Content-Length (chunked): counted while it streams
        boundary = "xyzzy"

        def body():
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.mp4\"\r\n"
                   "Content-Type: video/mp4\r\n\r\n").encode()
            for _ in range(4):
                yield b"\0" * (MiB // 2)
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = client.post("/api/v1/scans", content=body(),
                               headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert streamed.status_code == 413
        assert stored_files(data) == [] and client.get("/api/v1/scans").json()["total"] == 0
        # exactly at the limit is accepted (and fails as a scan: zeros are no video)
        accepted = post(client, "edge.mp4", b"\0" * limit)
        assert accepted.status_code == 202
        assert wait_for(client, accepted.json()["id"])["size_bytes"] == limit


def test_bad_requests_are_400_and_store_nothing(tmp_path, clip):
    data = tmp_path / "data"
    with serve(data) as client:
        assert client.post("/api/v1/scans", content=b"{}", headers={"content-type": "application/json"}).status_code == 400
        assert client.post("/api/v1/scans", data={"detector": "zero-shot"}, files={"other": ("a", b"x")}).status_code == 400
        unknown = post(client, "a.mp4", clip, detector="/etc/passwd")
        assert unknown.status_code == 400 and "zero-shot" in unknown.json()["error"]
        assert post(client, "b.mp4", clip, detector="animation-cues").status_code == 202
        cross = client.post("/api/v1/scans", files={"file": ("c.mp4", clip)}, headers={"origin": "http://elsewhere.example"})
        assert cross.status_code == 403
        assert client.get("/api/v1/scans/not-an-id").status_code == 404
        assert client.get("/scans/../../etc/report").status_code == 404
    assert len(stored_files(data)) == 1


def test_a_hostile_name_is_only_a_display_string(tmp_path, clip):
    data = tmp_path / "deep" / "data"
    with serve(data) as client:
        scan_id = post(client, "../../x.mp4", clip).json()["id"]
        scan = wait_for(client, scan_id)
        odd = wait_for(client, post(client, "run.sh", b"#!/bin/sh\n").json()["id"])
    assert scan["name"] == "../../x.mp4" and scan["result"]["path"] == "../../x.mp4"
    assert [p.relative_to(data).as_posix() for p in stored_files(data)] == sorted(
        [f"uploads/{scan_id}.mp4", f"uploads/{odd['id']}.bin"])
    assert not (tmp_path / "x.mp4").exists() and not (data.parent.parent / "x.mp4").exists()
    assert stored_name("ab", "../../x.MP4") == "ab.mp4" and stored_name("ab", "x.mp4/..") == "ab.bin"
    assert display_name("a\x00b\nc.mp4") == "abc.mp4" and display_name("") == "upload" and len(display_name("y" * 999)) == 255


def test_after_a_restart_the_scans_are_listed_and_interrupted_ones_resume(tmp_path, clip):
    data = tmp_path / "data"
    with serve(data) as client:
        first = [wait_for(client, post(client, f"clip{i}.mp4", clip).json()["id"]) for i in range(2)]
    # what a server killed mid-scan leaves: one running (started once), one queued, one started
    # MAX_ATTEMPTS times already, one whose upload is gone
    store = ScanStore(data)
    left = {}
    for name in ("running", "queued", "again", "gone"):
        scan_id = store.new_id()
        path = data / "uploads" / f"{scan_id}.mp4"
        if name != "gone":
            path.write_bytes(clip)
        store.add(scan_id, f"{name}.mp4", path, "zero-shot", len(clip))
        left[name] = scan_id
    for _ in range(MAX_ATTEMPTS - 1):  # started, interrupted, queued again by a restart
        store.claim(left["again"])
        store.recover()
    store.claim(left["again"])
    store.claim(left["running"])
    assert store.get(left["again"]).attempts == MAX_ATTEMPTS and store.get(left["running"]).status == "running"
    store.close()

    with serve(data) as client:
        after = {name: wait_for(client, scan_id) for name, scan_id in left.items()}
        listed = client.get("/api/v1/scans").json()
    assert listed["total"] == 6
    assert {s["id"] for s in first} <= {s["id"] for s in listed["scans"]}
    assert [s["name"] for s in listed["scans"]][-2:] == ["clip1.mp4", "clip0.mp4"]  # newest first
    assert (after["running"]["status"], after["queued"]["status"]) == ("done", "done")
    assert after["again"]["status"] == "failed" and "restart" in after["again"]["error"]
    assert after["gone"]["status"] == "failed" and "upload is gone" in after["gone"]["error"]


def test_list_filters_by_name_band_and_date_and_pages(tmp_path):
    store = ScanStore(tmp_path)
    rows = [("alpha.mp4", "fake", "2026-12-01T10:00:00"), ("Alpha two.mov", "uncertain", "2026-12-02T10:00:00"),
            ("beta_100%.mp4", "fake", "2026-12-03T10:00:00"), ("gamma.mp4", None, "2026-12-04T23:59:00")]
    ids = []
    for name, band, created in rows:
        scan_id = store.new_id()
        store.add(scan_id, name, tmp_path / scan_id, "zero-shot", 1, created=created)
        store.claim(scan_id)
        store.finish(scan_id, {"band": band, "score": 0.5} if band else None, None if band else "not a video")
        ids.append(scan_id)

    def names(**query) -> list[str]:
        return [s.name for s in store.list(ScanQuery(**query))[0]]

    assert names() == ["gamma.mp4", "beta_100%.mp4", "Alpha two.mov", "alpha.mp4"]
    assert names(name="ALPHA") == ["Alpha two.mov", "alpha.mp4"]
    assert names(name="0%") == ["beta_100%.mp4"] and names(name="a_1") == ["beta_100%.mp4"] and names(name="%x") == []
    assert names(band="fake") == ["beta_100%.mp4", "alpha.mp4"] and names(status="failed") == ["gamma.mp4"]
    assert names(since="2026-12-02", until="2026-12-03") == ["beta_100%.mp4", "Alpha two.mov"]
    assert names(until="2026-12-04") == ["gamma.mp4", "beta_100%.mp4", "Alpha two.mov", "alpha.mp4"]  # the whole day
    page, total = store.list(ScanQuery(limit=2, offset=2))
    assert total == 4 and [s.id for s in page] == [ids[1], ids[0]]
    with pytest.raises(ValueError):
        store.list(ScanQuery(since="yesterday"))
    app = create_app(store, LocalQueue(store, load=load_known()), max_upload_bytes=MiB, detectors=["zero-shot"])
    with TestClient(app, client=("127.0.0.1", 1)) as client:
        answer = client.get("/api/v1/scans", params={"band": "fake", "limit": 1}).json()
        assert (answer["total"], [s["name"] for s in answer["scans"]]) == (2, ["beta_100%.mp4"])
        assert client.get("/api/v1/scans", params={"since": "yesterday"}).status_code == 400
        assert client.get("/api/v1/scans", params={"limit": 0}).status_code == 400


def test_the_token_is_required_from_other_machines_only(tmp_path):
    data = tmp_path / "data"
    with serve(data, token="s3cret", client=("203.0.113.7", 40000)) as remote:
        assert remote.get("/api/v1/health").status_code == 401
        assert remote.get("/api/v1/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert remote.get("/api/v1/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert remote.get("/?token=s3cret").status_code == 200
        assert remote.post("/api/v1/scans", files={"file": ("a.mp4", b"x")}).status_code == 401
    assert stored_files(data) == []
    with serve(data, token="s3cret", client=("::1", 40000)) as local:
        assert local.get("/api/v1/health").status_code == 200
    assert [is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "localhost", "10.0.0.1",
                                     "0.0.0.0", "example.org", None)] == [True] * 5 + [False] * 4
    check_binding("127.0.0.1", None, False)
    check_binding("0.0.0.0", "s3cret", False)
    check_binding("0.0.0.0", None, True)
    with pytest.raises(ConfigError, match="--token"):
        check_binding("0.0.0.0", None, False)


def test_one_server_per_data_folder(tmp_path):
    from avcorr.serve.server import ServeOptions, build_app

    build_app(ServeOptions(data_dir=tmp_path / "data"))
    with pytest.raises(ConfigError, match="another avcorr serve"):
        build_app(ServeOptions(data_dir=tmp_path / "data"))
    build_app(ServeOptions(data_dir=tmp_path / "other"))


def test_cli_refuses_to_serve_other_machines_without_a_token(tmp_path, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--data", str(tmp_path / "data")]) == 2
    assert "--allow-no-token" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_a_scan_through_the_real_default_detector(tmp_path, clip, monkeypatch):
    from avcorr.serve.detection import load_detector

    monkeypatch.setattr("avcorr.media.face.FaceTracker", WholeFrameTracker)  # the whole frame is the face
    loads = []

    def load(name: str):
        loads.append(name)
        return load_detector(name)

    with serve(tmp_path / "data", load=load) as client:
        scan_ids = [post(client, f"talk{i}.mp4", clip).json()["id"] for i in range(2)]
        scans = [wait_for(client, scan_id) for scan_id in scan_ids]
        report = client.get(scans[0]["report_url"]).text
    assert loads == [DEFAULT_DETECTOR]  # once per worker, not per scan
    for scan in scans:
        assert scan["status"] == "done", scan["error"]
        result = scan["result"]
        assert result["mode"] == CUE_MODE and result["band"] in BANDS and scan["band"] == result["band"]
        assert 0.0 <= result["score"] <= 1.0 and result["false_alarm_rate"] == pytest.approx(0.05)
    assert scans[0]["score"] == scans[1]["score"]  # the same clip twice, the same verdict
    assert "avcorr scan report" in report and "talk0.mp4" in report


def test_stopping_finishes_the_scan_being_judged_and_leaves_the_rest_queued(tmp_path, clip):
    import threading

    from serve_fixtures import KnownScoreDetector

    started, release = threading.Event(), threading.Event()

    class Held(KnownScoreDetector):
        def detect(self, path, audio_path=None):
            started.set()
            release.wait(60)
            return super().detect(path, audio_path)

    store = ScanStore(tmp_path)
    queue = LocalQueue(store, workers=1, load=lambda name: Held(0.1))
    ids = []
    for name in ("first.mp4", "second.mp4"):
        scan_id = store.new_id()
        (tmp_path / "uploads" / f"{scan_id}.mp4").write_bytes(clip)
        store.add(scan_id, name, tmp_path / "uploads" / f"{scan_id}.mp4", "zero-shot", len(clip))
        queue.submit(scan_id)
        ids.append(scan_id)
    queue.start()
    assert started.wait(60)
    worker = next(t for t in threading.enumerate() if t.name == "avcorr-scan-0")
    queue.stop(timeout_s=0)  # asks the workers to stop, without waiting for them
    release.set()
    worker.join(60)
    assert not worker.is_alive()
    first, second = store.get(ids[0]), store.get(ids[1])
    assert (first.status, first.band, second.status) == ("done", "no evidence of manipulation", "queued")
    assert store.recover() == [ids[1]]


def test_every_detector_a_client_may_name_loads():
    """The names the page offers are the shipped ones; each loads (a kind by its name, a model by its folder)."""
    from avcorr.serve.detection import detector_names, load_detector

    names = detector_names()
    assert names[0] == DEFAULT_DETECTOR and "zero-shot" in names
    for name in names:
        detector = load_detector(name)
        assert detector.evidence_frames > 0
        detector.close()
