"""Forgery methods, one module each, built by name (``-self`` variants included)."""
from avcorr.forge.methods.base import (
    AudioDonor, FaceDonor, ForgedClip, ForgeRequest, ForgeryLabels, ForgeryMethod, SourceClip,
    get_method, method_names,
)

__all__ = ["AudioDonor", "FaceDonor", "ForgedClip", "ForgeRequest", "ForgeryLabels", "ForgeryMethod",
           "SourceClip", "get_method", "method_names"]
