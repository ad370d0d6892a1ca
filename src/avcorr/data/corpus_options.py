"""How a catalogued corpus becomes cue features and a calibrated model: one record of the choices
the wild benchmark (``avcorr bench wild``), ``avcorr fit-detector``, the cue model it fits and the
cue detector that replays it share, so that their defaults cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

from avcorr.errors import ConfigError
from avcorr.media.normalise import NormaliseOptions


@dataclass(frozen=True)
class CorpusOptions:
    """``prepare_frames``: frames prepared per clip (150 = 6 s at 25 fps). ``crop_frames``: every
    clip is cut to its centre this many frames (75 = 3 s), and detect judges videos in windows of
    that length. ``normalise_face_px`` / ``normalise_jpeg_quality``: the canonical resolution clips
    are brought to before tracking (face height in pixels, 0: off; JPEG quality 1–100).
    ``workers``: processes for prepare. ``false_alarm_rate`` / ``uncertain_rate``: the share of
    real clips at or above the fake / uncertain threshold when calibrating."""

    prepare_frames: int = 150
    crop_frames: int = 75
    normalise_face_px: int = NormaliseOptions.face_px
    normalise_jpeg_quality: int = NormaliseOptions.jpeg_quality
    workers: int = 2
    false_alarm_rate: float = 0.05
    uncertain_rate: float = 0.20

    def validate(self) -> None:
        """Raise :class:`ConfigError` for crop/prepare lengths or rates that cannot work together."""
        if self.crop_frames < 8 or self.prepare_frames < self.crop_frames:
            raise ConfigError("need 8 <= --crop-frames <= --prepare-frames")
        if not 0 < self.false_alarm_rate < self.uncertain_rate < 1:
            raise ConfigError("need 0 < --false-alarm-rate < the uncertain band's rate < 1")

    def normalise(self) -> NormaliseOptions | None:
        """The canonical-resolution options clips are prepared with (None when ``normalise_face_px`` is 0)."""
        if not self.normalise_face_px:
            return None
        return NormaliseOptions(face_px=self.normalise_face_px, jpeg_quality=self.normalise_jpeg_quality)


#: The defaults every corpus command starts from.
DEFAULT_CORPUS = CorpusOptions()
