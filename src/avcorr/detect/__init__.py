"""Detection pipelines: a video in, a verdict out (model and zero-shot detectors, segments, report)."""
