"""What ``avcorr demo`` says about the shipped default's verdicts on the demo's own clips.

A per-clip table (truth, band, score), a per-truth tally (how many were called fake or uncertain),
and a plain statement of what the default claims to catch and what it cannot, from the wild
benchmark (genuine fakes of generator families held out of training; docs/model_card.md). The
tally is measured on the demo's clips and reported as it comes out: nothing is tuned to them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from avcorr.detect.verdict import VideoVerdict

REAL = "real"
FAKE_BAND = "fake"
UNCERTAIN_BAND = "uncertain"

#: What the shipped default (trace-cues) claims to catch, from the wild benchmark's held-out families.
CLAIMS = ("It looks for visual traces of generation: mouth texture and teeth, flicker, the blending boundary "
          "of a pasted face, landmark jitter. On genuine fakes of generator families it never saw (avcorr's wild "
          "benchmark) it ranks a fake above a real clip 75.5% of the time (ROC-AUC 0.755, 95% CI 0.689 to 0.824); "
          "at its threshold it calls 3.9% of real clips fake and catches 17.7% of fakes, most often still-image "
          "animation (SadTalker, Sonic, EchoMimic, Hallo, DreamTalk).")
#: What it cannot catch, from the same benchmark and its design (it reads the frames only).
CANNOT = ("It cannot catch: audio swaps and voice-clone dubs (it reads the frames only, so a video with "
          "someone else's voice scores exactly as the real video it came from); face swaps and LatentSync-style "
          "lip-sync (its worst held-out families). Even where it is best, most fakes pass unflagged (82% at its "
          "threshold): \"no evidence of manipulation\" is not evidence of authenticity.")


@dataclass
class DemoVerdict:
    """One demo clip as the summary shows it: its file name, its truth (``real`` or the avcorr
    forgery method that made it), the real clip it was forged from (``source``: its own name for a
    real one), the band (None: it failed) and score in [0, 1]."""

    clip: str
    truth: str
    source: str
    band: str | None
    score: float | None
    error: str | None = None

    @classmethod
    def of(cls, verdict: VideoVerdict, truth: str, source: str) -> "DemoVerdict":
        return cls(clip=Path(verdict.path).name, truth=truth, source=source,
                   band=None if verdict.error else verdict.verdict, score=None if verdict.error else verdict.score,
                   error=verdict.error)


@dataclass
class Tally:
    """Clips of one truth and how the default banded them; ``above_source``: forgeries scored
    strictly above the real clip they were made from (the paired ranking ROC-AUC averages; 0 for reals)."""

    truth: str
    clips: int
    fake: int
    uncertain: int
    failed: int
    above_source: int = 0

    def sentence(self) -> str:
        """``reals: 0 of 6 called fake (2 uncertain)``; a forgery method adds how many scored above their source."""
        who = "reals" if self.truth == REAL else self.truth
        text = f"{who}: {self.fake} of {self.clips} called fake ({self.uncertain} uncertain"
        text += f", {self.failed} failed)" if self.failed else ")"
        return text if self.truth == REAL else text + f", {self.above_source} of {self.clips} scored above their real source"


def tally(rows: list[DemoVerdict]) -> list[Tally]:
    """One :class:`Tally` per truth, reals first, then the methods in the order they appear."""
    order = sorted(dict.fromkeys(r.truth for r in rows), key=lambda t: t != REAL)
    bands = Counter((r.truth, r.band) for r in rows)
    clips = Counter(r.truth for r in rows)
    real_score = {r.clip: r.score for r in rows if r.truth == REAL}
    above = Counter(r.truth for r in rows if r.truth != REAL and r.score is not None
                    and real_score.get(r.source) is not None and r.score > real_score[r.source])
    return [Tally(truth=t, clips=clips[t], fake=bands[(t, FAKE_BAND)], uncertain=bands[(t, UNCERTAIN_BAND)],
                  failed=bands[(t, None)], above_source=above[t]) for t in order]


def measured(tallies: list[Tally]) -> str:
    """The demo's own measurement: the tally, then the plain outcome."""
    fakes = [t for t in tallies if t.truth != REAL]
    reals = [t for t in tallies if t.truth == REAL]
    caught, forged = sum(t.fake for t in fakes), sum(t.clips for t in fakes)
    false_alarms, real_clips = sum(t.fake for t in reals), sum(t.clips for t in reals)
    return ("On this demo's clips (synthetic faces rendered by avcorr, forged by avcorr's own methods; a handful of "
            "clips, not a measure of accuracy): " + "; ".join(t.sentence() for t in tallies) + ". "
            f"In all, it called {caught} of the demo's {forged} forgeries fake, and {false_alarms} of its "
            f"{real_clips} real clips.")


def report_note(detector_name: str, tallies: list[Tally]) -> str:
    """The report's note: what the default is, what it claims to catch, what it cannot, what it did here."""
    return (f"This is avcorr's shipped default detector ({detector_name}), what `avcorr detect` runs without a "
            f"model flag (docs/model_card.md). {CLAIMS} {CANNOT} {measured(tallies)}")


def summary_markdown(detector_name: str, rows: list[DemoVerdict], tallies: list[Tally]) -> str:
    """The demo's summary page: the statement, the tally and the per-clip table."""
    lines = [f"# avcorr demo: the shipped default ({detector_name}) on the demo's clips", "",
             "**What it claims to catch.** " + CLAIMS, "", "**What it cannot catch.** " + CANNOT, "",
             "**What it did here.** " + measured(tallies), "",
             "| truth | clips | called fake | uncertain | failed | scored above their real source |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {t.truth} | {t.clips} | {t.fake} | {t.uncertain} | {t.failed} | "
              f"{'-' if t.truth == REAL else t.above_source} |" for t in tallies]
    lines += ["", "| clip | truth | band | score |", "|---|---|---|---|"]
    for r in rows:
        band = r.band if r.band is not None else f"failed: {r.error}"
        score = f"{r.score:.3f}" if r.score is not None else "-"
        lines.append(f"| {r.clip} | {r.truth} | {band} | {score} |")
    return "\n".join(lines) + "\n"
