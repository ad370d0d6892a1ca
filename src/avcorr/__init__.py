"""avcorr: audio-visual deepfake detection by explicit correlation learning.

The public API is small on purpose::

    import avcorr
    detector = avcorr.load_detector("runs/cpu")        # a run folder or a .safetensors file
    out = detector(mfcc, frames)                        # (B, 4T, 13) float, (B, T, H, W) uint8
    out.frame_logits, out.audio, out.visual, out.correlation

Attributes are imported lazily so that ``import avcorr`` (and the CLI) start fast.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "DetectorOutput": "avcorr.models.detector",
    "build_detector": "avcorr.models.detector",
    "load_detector": "avcorr.models.checkpoint",
    "save_detector": "avcorr.models.checkpoint",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'avcorr' has no attribute {name!r}")
