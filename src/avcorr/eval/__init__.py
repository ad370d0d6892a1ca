"""Evaluation: metrics, protocols, detection pipeline and reports."""
