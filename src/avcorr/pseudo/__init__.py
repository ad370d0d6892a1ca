"""Pseudo-fakes made on the fly from real clips: each mimics one family of real generators."""
