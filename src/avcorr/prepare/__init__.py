"""Prepare: raw videos → the clip cache (decode, track, crop, features, teacher posteriors)."""
