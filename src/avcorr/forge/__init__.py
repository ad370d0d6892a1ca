"""Forge: cross-modal deepfakes made from real clips, and synthetic talking faces."""
