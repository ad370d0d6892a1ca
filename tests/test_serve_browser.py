"""The upload page as a person uses it: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) drops a synthetic clip and a text file on the page of a
real server, waits, and reads the band, the score, the false-alarm rate and the failure reason.

Skips where Chromium, its driver or Selenium is absent. With ``AVCORR_SERVE_SCREENSHOT=FILE`` it
also saves a screenshot of the finished page (docs/serve_screenshot.png is made this way).
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from avcorr.detect.bundled import DEFAULT_DETECTOR
from avcorr.detect.verdict import BANDS
from avcorr.serve.app import create_app
from avcorr.serve.queue import LocalQueue
from avcorr.serve.store import ScanStore
from serve_fixtures import WholeFrameTracker, make_clip


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium or chromium-driver is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1100", "--hide-scrollbars"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A real uvicorn server on a free loopback port, judging with the real default detector (the
    whole frame taken for the face, so no face model runs)."""
    import uvicorn

    monkeypatch.setattr("avcorr.media.face.FaceTracker", WholeFrameTracker)
    store = ScanStore(tmp_path / "data")
    app = create_app(store, LocalQueue(store, workers=1), max_upload_bytes=8 * 2**20, detectors=[DEFAULT_DETECTOR])
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "the server did not start"
    port = instance.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(60)


def test_a_person_drops_a_clip_and_reads_its_band(server, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait as Wait

    def WebDriverWait(driver, timeout_s: float, poll_frequency: float = 0.5) -> Wait:
        """Waits that look again when the page re-renders an element between finding and reading it."""
        return Wait(driver, timeout_s, poll_frequency=poll_frequency, ignored_exceptions=[StaleElementReferenceException])

    clip = make_clip(tmp_path / "press briefing.mp4")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n")
    browser = _browser()
    try:
        browser.get(server + "/")
        WebDriverWait(browser, 30).until(lambda b: "worker" in b.find_element(By.ID, "server").text)
        picker = browser.find_element(By.ID, "file-input")
        browser.execute_script("arguments[0].hidden = false", picker)
        picker.send_keys(f"{clip}\n{notes}")  # two files at once, as a drop would bring them
        browser.execute_script("arguments[0].hidden = true", picker)

        def finished(b) -> bool:
            jobs = b.find_elements(By.CSS_SELECTOR, "#jobs .job")
            return len(jobs) == 2 and not b.find_elements(By.CSS_SELECTOR, "#jobs progress")

        WebDriverWait(browser, 240, poll_frequency=0.5).until(finished)
        jobs = {job.find_element(By.CSS_SELECTOR, ".name").text: job
                for job in browser.find_elements(By.CSS_SELECTOR, "#jobs .job")}
        assert set(jobs) == {"press briefing.mp4", "notes.txt"}
        clip_job, notes_job = jobs["press briefing.mp4"], jobs["notes.txt"]
        assert clip_job.find_element(By.CSS_SELECTOR, ".band").text in BANDS
        assert "false-alarm rate 5.0%" in clip_job.text and "score 0." in clip_job.text
        assert f"detector {DEFAULT_DETECTOR}" in clip_job.text  # the page's default: the shipped one
        assert "FAILED" in notes_job.text and "notes.txt: " in notes_job.text and not notes_job.find_elements(By.CSS_SELECTOR, ".band")
        report = clip_job.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
        assert report.startswith(server + "/scans/") and report.endswith("/report")
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#history tr")) == 2)
        # the list of past scans searches by name and band
        browser.find_element(By.ID, "f-name").send_keys("briefing")
        browser.find_element(By.CSS_SELECTOR, "#filters button").click()
        WebDriverWait(browser, 30).until(lambda b: [r.find_element(By.CSS_SELECTOR, "td").text for r in
                                                    b.find_elements(By.CSS_SELECTOR, "#history tr")] == ["press briefing.mp4"])
        browser.find_element(By.ID, "f-name").clear()
        browser.find_element(By.CSS_SELECTOR, "#filters button").click()
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#history tr")) == 2)
        shot = os.environ.get("AVCORR_SERVE_SCREENSHOT")
        if shot:
            Path(shot).parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(shot)
        browser.get(report)
        assert "avcorr scan report" in browser.title and "press briefing.mp4" in browser.page_source
    finally:
        browser.quit()
