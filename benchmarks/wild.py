"""Detection in the wild: leave one generator family out on genuine forgeries, beside a
metadata-only shortcut baseline, with 95% bootstrap CIs and calibrated false-alarm rates
(docs/wild.md).

    .venv/bin/python benchmarks/wild.py                      # ../shared/data, every variant, 3 seeds
    .venv/bin/python benchmarks/wild.py --seeds 0            # one seed of the trained networks
    .venv/bin/python benchmarks/wild.py --data /data/mine    # a folder with its own catalog.csv
    .venv/bin/python benchmarks/wild.py --report-only        # rewrite the tables from finished runs

The same as ``avcorr bench wild`` (every option of it is accepted here); results go to
benchmarks/results/wild.{json,md}; the work folder (runs/bench-wild) makes it resumable.
"""
from __future__ import annotations

import sys

from avcorr.cli.main import main as avcorr_main


def main(argv: list[str] | None = None) -> int:
    return avcorr_main(["bench", "wild", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
