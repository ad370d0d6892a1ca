"""Generalization to unseen forgery methods: full model vs detection-only vs distillation-only vs
the zero-shot teacher, leave one forgery family out, three seeds (docs/generalization.md).

    .venv/bin/python benchmarks/generalization.py              # CPU default (2 cores, about an hour)
    .venv/bin/python benchmarks/generalization.py --quick      # pipeline check, a few minutes
    .venv/bin/python benchmarks/generalization.py --size paper # one GPU
    .venv/bin/python benchmarks/generalization.py --resume     # continue a cut run

The same as ``avcorr bench generalization`` (every option of it is accepted here); results go to
benchmarks/results/generalization.{json,md} (``--quick``: under the work folder).
"""
from __future__ import annotations

import sys

from avcorr.cli.main import main as avcorr_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in args:
        args = [a for a in args if a != "--quick"] + ["--size", "quick"]
    return avcorr_main(["bench", "generalization", *args])


if __name__ == "__main__":
    sys.exit(main())
