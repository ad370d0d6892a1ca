"""The wild benchmark: leave-one-generator-family-out over a corpus of genuine fakes with a catalog.

``catalog`` reads the corpus, ``folds`` splits it with source groups kept on one side, ``report``
turns per-clip scores into the table with bootstrap CIs and calibrated operating points.
"""
