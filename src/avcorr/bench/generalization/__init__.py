"""The generalization benchmark (``avcorr bench generalization``): forge, prepare, train and test
every (variant, held-out family, seed) of :mod:`avcorr.bench.generalization.protocols`, and write the table.

Stages, each timed and each resumable from the work folder:

1. ``sources`` — ``synth`` clips (plus the real clips of ``../shared/data`` when present), dealt
   into folds by identity; the fold is the manifest's ``split``, so forge picks donors inside it.
2. ``forge`` — every method on every source (the real rows are re-encoded the same way).
3. ``prepare`` — the clip cache, with the phonetic teacher's posteriors and soft labels.
4. ``zero_shot`` — the teacher's zero-shot score of every clip, from the cached posteriors.
5. ``runs`` — per seed (test fold = seed index mod folds), per held-out family, per trained
   variant: train on a view of the cache holding only the training clips, score every test-fold
   clip once, and compute metrics on unseen real + held-out fakes (and, as a diagnostic, on
   unseen real + test-fold fakes of the trained families).

One module per job: :mod:`.plan` (options, run order, work state), :mod:`.stages` (stages 1–4
and the training views), :mod:`.runs` (one run), :mod:`.report` (JSON + markdown) and
:mod:`.driver` (the order). This package exports what the CLI and the tests call.
"""
from avcorr.bench.generalization.driver import run_benchmark
from avcorr.bench.generalization.plan import BenchOptions, BenchSize
from avcorr.bench.generalization.runs import split_metrics, train_and_score
from avcorr.bench.generalization.stages import bench_clips, face_donors

__all__ = ["BenchOptions", "BenchSize", "bench_clips", "face_donors", "run_benchmark", "split_metrics", "train_and_score"]
