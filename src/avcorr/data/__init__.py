"""Data: manifests and dataset adapters, the clip cache, datasets and batching."""
