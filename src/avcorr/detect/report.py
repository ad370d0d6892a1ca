"""The HTML report of a ``detect`` batch: one self-contained page a verification team can open.

Per video: a verdict card (score, band — fake, uncertain or no evidence of manipulation — and the
threshold with what it was calibrated on), the fake-probability and audio-visual correlation curves over time, the most suspicious frames with their mouth crops, and the
suspicious segments; files that failed are listed with their reason. Every image is a PNG
embedded as a base64 data URI and all styling is inline, so the page can be mailed or archived as
one file and opened offline. All text that comes from a file or a path is HTML-escaped.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import avcorr
from avcorr.detect.evidence import FrameEvidence
from avcorr.detect.segments import Segment, smooth_scores
from avcorr.detect.verdict import TOO_LITTLE

REPORT_NAME = "index.html"
LIMITS_NOTE = (
    "“No evidence of manipulation” means the detector found none, not that the video is authentic. "
    "Well-synchronized lips and speech are never proof of authenticity: modern lip-sync generators are often "
    "more synchronized than real footage. Thresholds are calibrated on real clips for a false-alarm rate; on "
    "footage unlike those clips the rate does not hold. Treat every verdict as a lead for a human reviewer."
)


@dataclass
class ReportVideo:
    """What the report shows for one input file. ``verdict`` is a band (``fake``, ``uncertain``,
    ``no evidence of manipulation``; ``real`` is read as the last) or ``error``; ``probability``
    is the video score. ``threshold`` / ``uncertain_threshold`` are the band edges (None: no
    uncertain band); ``false_alarm_rate``, ``calibration_clips`` and ``calibration`` say what the
    fake threshold was calibrated for and on. ``frame_threshold``: the line drawn on the per-frame
    curve (model mode, where the video score is the frame mean; None: no line). Per-frame arrays
    are (T,) and may be None (e.g. for a file that failed)."""

    path: str
    verdict: str
    probability: float | None = None
    mode: str = ""
    threshold: float | None = None
    uncertain_threshold: float | None = None
    false_alarm_rate: float | None = None
    calibration: str = ""
    calibration_clips: int | None = None
    score_meaning: str = ""
    frame_threshold: float | None = None
    fps: float = 25.0
    fake_probability: np.ndarray | None = None
    correlation: np.ndarray | None = None
    teacher_correlation: np.ndarray | None = None
    segments: list[Segment] = field(default_factory=list)
    evidence: list[FrameEvidence] = field(default_factory=list)
    error: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    correlation_label: str = "student correlation $s_t$"
    teacher_label: str = "teacher correlation $y_t$"
    # cues mode: (feature, raw value or None, signed logit contribution) of the most suspicious window
    drivers: list[tuple[str, float | None, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return Path(self.path).name or self.path


_SHOWN_DETAILS = ("checkpoint", "model", "teacher", "analysed_s", "source_s", "analysed_share", "decoded_share",
                  "face_found_fraction", "mean_correlation", "offset_s", "truncated", "windows")


def from_verdict(verdict: Any) -> ReportVideo:
    """The report's view of a :class:`avcorr.detect.verdict.VideoVerdict` (and of the evidence frames a
    detector kept on it, ``verdict.evidence``)."""
    if verdict.error is None and verdict.verdict == TOO_LITTLE:
        return ReportVideo(path=verdict.path, verdict=TOO_LITTLE, mode=verdict.mode,
                           error=str(verdict.details.get("reason") or TOO_LITTLE))
    if verdict.error is not None or verdict.score is None:
        return ReportVideo(path=verdict.path, verdict="error", mode=verdict.mode, error=verdict.error or "no score")

    def series(name: str) -> np.ndarray | None:
        values = [getattr(f, name) for f in verdict.frames]
        if not values or all(v is None for v in values):
            return None
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    details = dict(verdict.details or {})
    shown = {k.replace("_", " "): _detail_text(details[k]) for k in _SHOWN_DETAILS if details.get(k) not in (None, "", False)}
    if getattr(verdict, "audio_path", None):
        shown = {"audio": str(verdict.audio_path), **shown}
    zero_shot = verdict.mode == "zero-shot"
    cues = verdict.mode == "cues"
    point = getattr(verdict, "operating_point", None)
    threshold = point.fake_threshold if point is not None else details.get("threshold")
    if cues:
        meaning = f"mean over {details.get('windows', 'its')} windows of the cue model's probability of fake"
    elif not zero_shot:
        meaning = "mean over frames of the probability of fake"
    elif details.get("reference_clips"):
        meaning = (f"mean over {details.get('windows', 1)} window(s) of {details.get('window_frames') or 'all'} frames of the "
                   f"share of the {details['reference_clips']} reference real clips whose lips and speech agree better")
    else:
        meaning = "uncalibrated prior from the mean lip/speech consistency"
    return ReportVideo(
        path=verdict.path, verdict=verdict.verdict or "error", probability=verdict.score, mode=verdict.mode,
        threshold=threshold, uncertain_threshold=None if point is None else point.uncertain_threshold,
        false_alarm_rate=None if point is None else point.false_alarm_rate,
        calibration="" if point is None else point.source, calibration_clips=None if point is None else point.num_real_clips,
        score_meaning=meaning, frame_threshold=None if zero_shot else threshold,
        fps=verdict.fps or 25.0, fake_probability=series("fake_probability"),
        correlation=series("correlation"), teacher_correlation=series("soft_label"), segments=list(verdict.segments),
        evidence=list(getattr(verdict, "evidence", None) or []), details=shown,
        correlation_label="teacher correlation (best A/V offset)" if zero_shot or cues else "student correlation $s_t$",
        teacher_label="teacher label $y_t$" if zero_shot or cues else "teacher correlation $y_t$",
        drivers=[(str(c["feature"]), c.get("value"), float(c["logit"])) for c in details.get("contributions") or []],
    )


def _detail_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# Images


def png_data_uri(image: np.ndarray) -> str:
    """A uint8 gray or RGB image as a ``data:image/png;base64,...`` URI."""
    import cv2

    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode image as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def jpeg_data_uri(image: np.ndarray, quality: int = 85) -> str:
    """A uint8 RGB image as a ``data:image/jpeg;base64,...`` URI (photographic thumbnails)."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(image, dtype=np.uint8), cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode image as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def curves_png(video: ReportVideo, width_px: int = 1040, smooth_frames: int = 5) -> bytes | None:
    """The fake-probability curve (with threshold and shaded segments) above the correlation curves
    (student s_t, teacher y_t), sharing a time axis in seconds. None when there is nothing to plot."""
    series = [a for a in (video.fake_probability, video.correlation, video.teacher_correlation) if a is not None]
    if not series or len(series[0]) == 0:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    dpi = 100
    has_corr = video.correlation is not None or video.teacher_correlation is not None
    rows = 2 if (has_corr and video.fake_probability is not None) else 1
    figure = Figure(figsize=(width_px / dpi, 2.2 * rows + 0.5), dpi=dpi)
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    time = np.arange(len(series[0])) / video.fps
    row = 0
    if video.fake_probability is not None:
        ax = axes[row]
        for segment in video.segments:
            ax.axvspan(segment.start_s, segment.end_s, color="#e63946", alpha=0.13, lw=0)
        ax.plot(time, video.fake_probability, color="#e63946", lw=0.8, alpha=0.45, label="frame probability")
        ax.plot(time, smooth_scores(video.fake_probability, smooth_frames), color="#b5172b", lw=1.8,
                label=f"smoothed ({smooth_frames} frames)")
        if video.frame_threshold is not None:
            ax.axhline(video.frame_threshold, color="#444", lw=1, ls="--", label=f"threshold {video.frame_threshold:.3g}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("P(fake)")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncol=3, frameon=False, borderaxespad=0.1)
        row += 1
    if has_corr:
        ax = axes[row]
        if video.correlation is not None:
            ax.plot(time, video.correlation, color="#1d6fb8", lw=1.4, label=video.correlation_label)
        if video.teacher_correlation is not None:
            ax.plot(time, video.teacher_correlation, color="#2a9d8f", lw=1.4, ls="--", label=video.teacher_label)
        for segment in video.segments:
            ax.axvspan(segment.start_s, segment.end_s, color="#e63946", alpha=0.10, lw=0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("A/V correlation")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncol=2, frameon=False, borderaxespad=0.1)
    for ax in axes:
        ax.grid(True, color="#ddd", lw=0.6)
        ax.set_xlim(0, max(time[-1] if len(time) else 0.0, 1.0 / video.fps))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlabel("time (s)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """
:root { --fake:#c1121f; --uncertain:#b86e00; --real:#2b8a3e; --error:#6c757d; --ink:#1f2328; --muted:#59636e; --line:#d8dee4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f3f4f6; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; word-break: break-all; }
h3 { font-size: 14px; margin: 18px 0 8px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.meta { color: var(--muted); font-size: 13px; }
.summary { display: flex; gap: 12px; margin: 16px 0; flex-wrap: wrap; }
.stat { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 120px; }
.stat b { display: block; font-size: 24px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.card { background: #fff; border: 1px solid var(--line); border-left: 8px solid var(--error); border-radius: 8px;
        padding: 18px 22px; margin: 22px 0; }
.card.fake { border-left-color: var(--fake); }
.card.uncertain { border-left-color: var(--uncertain); }
.card.real { border-left-color: var(--real); }
.card.little { border-left-color: #8d99ae; }
.head { display: flex; align-items: center; gap: 16px; flex-wrap: wrap; }
.badge { display: inline-block; padding: 4px 12px; border-radius: 999px; color: #fff; font-weight: 700;
         font-size: 14px; letter-spacing: .06em; background: var(--error); }
.badge.fake { background: var(--fake); }
.badge.uncertain { background: var(--uncertain); }
.badge.real { background: var(--real); }
.badge.little { background: #8d99ae; }
.prob { font-size: 28px; font-weight: 700; font-variant-numeric: tabular-nums; }
.bar { position: relative; height: 10px; background: #e9ecef; border-radius: 5px; margin: 10px 0 4px; }
.bar > span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 5px; background: var(--fake); }
.bar > i { position: absolute; top: -4px; bottom: -4px; width: 2px; background: #333; }
.bar > i.uncertain { background: var(--uncertain); }
.calibration { font-size: 13px; margin-top: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; font-size: 13px; color: var(--muted); margin-top: 6px; }
.facts b { color: var(--ink); font-weight: 600; }
img.curves { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 4px; }
.frames { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figure .pair { display: flex; gap: 6px; align-items: flex-end; }
figure img { display: block; image-rendering: auto; border-radius: 3px; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 6px; font-variant-numeric: tabular-nums; }
.failure { color: var(--fake); font-family: "DejaVu Sans Mono", monospace; font-size: 13px; word-break: break-all; }
.none { color: var(--muted); font-style: italic; }
ul.drivers { margin: 4px 0; padding-left: 20px; font-size: 13px; }
.note { background: #fff8e1; border: 1px solid #f2d488; border-radius: 8px; padding: 10px 14px; font-size: 13px; }
a { color: #0b5cad; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


_SHORT_LABEL = {"fake": "FAKE", "uncertain": "UNCERTAIN", "real": "NO EVIDENCE", "little": "TOO LITTLE", "error": "FAILED"}
_LONG_LABEL = {"fake": "FAKE", "uncertain": "UNCERTAIN", "real": "NO EVIDENCE OF MANIPULATION",
               "little": "TOO LITTLE TO JUDGE", "error": "FAILED"}
# band → CSS class ("real" is the class of "no evidence of manipulation", and its pre-band name)
_CLASS = {"fake": "fake", "uncertain": "uncertain", "no evidence of manipulation": "real", "real": "real",
          TOO_LITTLE: "little"}


def _verdict_class(video: ReportVideo) -> str:
    return _CLASS.get(video.verdict, "error")


def calibration_text(video: ReportVideo) -> str:
    """What the threshold is and what it was calibrated on, in one sentence."""
    if video.threshold is None:
        return ""
    text = f"threshold {video.threshold:.3g}"
    if video.false_alarm_rate is not None:
        text += (f", calibrated for {100 * video.false_alarm_rate:.3g}% false alarms on "
                 f"{video.calibration_clips if video.calibration_clips is not None else 'some'} real clips"
                 f" ({video.calibration})")
        if video.uncertain_threshold is not None and video.uncertain_threshold < video.threshold:
            text += f"; uncertain from {video.uncertain_threshold:.3g}"
    elif video.calibration:
        text += f" ({video.calibration}; its false-alarm rate is unknown)"
    return text


def _anchor(index: int) -> str:
    return f"video-{index + 1}"


def _summary_html(videos: Sequence[ReportVideo]) -> str:
    counts = {k: sum(_verdict_class(v) == k for v in videos) for k in ("fake", "uncertain", "real", "little", "error")}
    stats = "".join(f'<div class="stat"><b>{n}</b>{label}</div>' for n, label in (
        (len(videos), "videos"), (counts["fake"], "called fake"), (counts["uncertain"], "uncertain"),
        (counts["real"], "no evidence found"), (counts["little"], "too little to judge"), (counts["error"], "failed")))
    rows = []
    for index, video in enumerate(videos):
        rows.append(
            f'<tr><td><a href="#{_anchor(index)}">{_e(video.name)}</a></td>'
            f'<td><span class="badge {_verdict_class(video)}">{_SHORT_LABEL[_verdict_class(video)]}</span></td>'
            f'<td class="num">{_fmt(video.probability)}</td><td>{_e(video.mode or "—")}</td>'
            f'<td class="num">{len(video.segments) if video.verdict != "error" else "—"}</td></tr>')
    table = ('<table><thead><tr><th>file</th><th>verdict</th><th class="num">score</th><th>mode</th>'
             '<th class="num">segments</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    return f'<div class="summary">{stats}</div>{table}'


def _card_html(index: int, video: ReportVideo) -> str:
    verdict = _verdict_class(video)
    label = _LONG_LABEL[verdict]
    parts = [f'<section class="card {verdict}" id="{_anchor(index)}">',
             f'<div class="head"><span class="badge {verdict}">{label}</span><h2>{_e(video.name)}</h2></div>',
             f'<div class="meta">{_e(video.path)}</div>']
    if verdict in ("error", "little"):
        parts.append(f'<p class="failure">{_e(video.error or "unknown error")}</p></section>')
        return "".join(parts)
    probability = video.probability if video.probability is not None else float("nan")
    bar = ""
    if not math.isnan(probability):
        marker = "" if video.threshold is None else \
            f'<i style="left:{100 * min(video.threshold, 1.0):.1f}%" title="fake threshold"></i>'
        if video.uncertain_threshold is not None and video.threshold is not None and video.uncertain_threshold < video.threshold:
            marker += f'<i class="uncertain" style="left:{100 * video.uncertain_threshold:.1f}%" title="uncertain threshold"></i>'
        bar = f'<div class="bar"><span style="width:{100 * probability:.1f}%"></span>{marker}</div>'
    facts = {"mode": video.mode or "—", "threshold": _fmt(video.threshold, 3)}
    facts.update(video.details)
    if video.fake_probability is not None:
        facts.setdefault("frames", str(len(video.fake_probability)))
        facts.setdefault("duration", f"{len(video.fake_probability) / video.fps:.2f} s")
    facts_html = "".join(f"<span>{_e(k)} <b>{_e(v)}</b></span>" for k, v in facts.items())
    meaning = f' <span class="meta">({_e(video.score_meaning)})</span>' if video.score_meaning else ""
    calibration = calibration_text(video)
    calibration_html = f'<div class="calibration">{_e(calibration)}</div>' if calibration else ""
    parts.append(f'<div class="prob">score = {_fmt(probability)}{meaning}</div>{bar}{calibration_html}'
                 f'<div class="facts">{facts_html}</div>')
    if video.drivers:
        parts.append(_drivers_html(video.drivers))

    png = curves_png(video)
    if png is not None:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f'<h3>Over time</h3><img class="curves" alt="fake probability and correlation over time" src="{uri}">')

    parts.append("<h3>Suspicious segments</h3>")
    if video.segments:
        rows = "".join(
            f'<tr><td class="num">{i + 1}</td><td class="num">{s.start_s:.2f}</td><td class="num">{s.end_s:.2f}</td>'
            f'<td class="num">{s.end_s - s.start_s:.2f}</td><td class="num">{s.start_frame}–{s.end_frame - 1}</td>'
            f'<td class="num">{_fmt(s.score)}</td></tr>' for i, s in enumerate(video.segments))
        parts.append('<table class="segments"><thead><tr><th class="num">#</th><th class="num">start (s)</th>'
                     '<th class="num">end (s)</th><th class="num">length (s)</th><th class="num">frames</th>'
                     f'<th class="num">mean P(fake)</th></tr></thead><tbody>{rows}</tbody></table>')
    else:
        parts.append('<p class="none">None: no stretch of frames stays high enough for long enough.</p>')

    if video.evidence:
        parts.append("<h3>Most suspicious frames</h3><div class=\"frames\">")
        for item in video.evidence:
            images = []
            if item.scene is not None:
                images.append(f'<img alt="frame {item.frame}" src="{jpeg_data_uri(item.scene)}" height="112">')
            images.append(f'<img alt="face crop, frame {item.frame}" src="{png_data_uri(item.face)}" width="112" height="112">')
            if item.mouth is not None:
                images.append(f'<img alt="mouth crop, frame {item.frame}" src="{png_data_uri(item.mouth)}" width="80" height="80">')
            parts.append(f'<figure><div class="pair">{"".join(images)}</div>'
                         f'<figcaption>t = {item.time_s:.2f} s · frame {item.frame} · P(fake) {item.score:.3f}</figcaption></figure>')
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _drivers_html(drivers: Sequence[tuple[str, float | None, float]]) -> str:
    """The cues that moved the most suspicious window's score most, as a short list."""
    items = "".join(
        f'<li><code>{_e(name)}</code> = {_e(_fmt(value, 3))}: <b>{logit:+.2f}</b> '
        f'{"toward fake" if logit > 0 else "toward no evidence"}</li>' for name, value, logit in drivers)
    return ('<h3>What drove the score</h3><p class="meta">Features of the most suspicious window, by their '
            f'contribution to its logit (standardised value × weight).</p><ul class="drivers">{items}</ul>')


def render_report(videos: Sequence[ReportVideo], title: str = "avcorr detection report",
                  settings: dict[str, str] | None = None, note: str | None = None) -> str:
    """The report page as one HTML string (no external resources). ``note``: a paragraph shown
    at the top, before the summary (e.g. what the detector is and how to read its verdicts)."""
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    settings_html = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in (settings or {}).items())
    body = [f"<h1>{_e(title)}</h1>",
            f'<div class="meta">avcorr {_e(avcorr.__version__)} · {when}{" · " + settings_html if settings_html else ""}</div>']
    if note:
        body.append(f'<p class="note"><b>Note:</b> {_e(note)}</p>')
    body += [_summary_html(videos), f'<p class="note">{_e(LIMITS_NOTE)}</p>']
    body += [_card_html(i, v) for i, v in enumerate(videos)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n")


def write_report(videos: Sequence[ReportVideo], out_dir: str | Path, title: str = "avcorr detection report",
                 settings: dict[str, str] | None = None, note: str | None = None) -> Path:
    """Write the report page to ``out_dir/index.html`` (created if needed); returns its path.

    Atomic: the page (images inlined) goes to a temporary file beside it, is fsynced, then renamed
    over the old page; a reader sees the old page or the new one, and a write that fails (a full
    disk) leaves the old page as it was and raises the ``OSError``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_NAME
    page = render_report(videos, title, settings, note).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT_NAME}.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the page from a web server or a colleague
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
