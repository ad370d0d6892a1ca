"""Forgery cues beside the correlation student (visual traces, still-image animation), at the models level."""
