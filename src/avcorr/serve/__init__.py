"""avcorr for verifiers: a local web page and JSON API over the detectors, with a SQLite store."""
