"""The report as a browser shows it: rendered in headless Chromium (Debian's ``chromium``).

Skips where Chromium is not installed. The page itself has no script; to see whether every
embedded image decodes, the test renders a copy with a small probe script that records each
image's decoded size in the DOM, then reads it back with ``--dump-dom``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from avcorr.detect.report import write_report
from report_fixtures import clean_video, failed_video, forged_video

PROBE = """<script>
window.addEventListener('load', () => {
  const out = document.createElement('pre'); out.id = 'probe';
  out.textContent = Array.from(document.images).map(i => i.naturalWidth + 'x' + i.naturalHeight).join(' ');
  document.body.appendChild(out);
});
</script></body>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=90)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report([forged_video(), clean_video(), failed_video()], tmp_path_factory.mktemp("report"))


def test_dom_shows_verdicts_segments_and_errors(report):
    probed = report.with_name("probed.html")
    probed.write_text(report.read_text().replace("</body>", PROBE))
    result = chromium("--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    dom = result.stdout
    assert "avcorr detection report" in dom, result.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "forged &lt;partial&gt; &amp; co.mp4" in text  # the escaped name shows as text
    assert "NO EVIDENCE OF MANIPULATION" in text and "FAILED" in text and "FAKE" in text
    assert "no audio track &lt;none&gt;" in text
    sizes = re.search(r'<pre id="probe">([^<]*)</pre>', dom).group(1).split()
    assert len(sizes) == 8
    assert all(int(w) > 0 and int(h) > 0 for w, h in (s.split("x") for s in sizes)), sizes


def test_screenshot_shows_the_cards(report, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2000, 1280)
    # The fake card's red badge/border (#c1121f) and the real card's green (#2b8a3e) are painted.
    def has(rgb: tuple[int, int, int]) -> bool:
        return bool(np.any(np.all(np.abs(image[..., ::-1].astype(int) - rgb) <= 3, axis=-1)))
    assert has((0xC1, 0x12, 0x1F)) and has((0x2B, 0x8A, 0x3E))
    assert image.std() > 20  # not a blank page
