"""The one metric table of avcorr: clip-level detection metrics, overall and per generation method.

Conventions: the positive class is FAKE (label 1); a score is the probability of fake; a clip is
called fake when ``score >= threshold``. Real recall = TNR, fake recall = TPR, HTER = (FPR + FNR)/2
at the threshold, EER = the rate where FPR = FNR on the ROC curve (linear interpolation between
its points). Metrics that need a class that is absent are NaN, with a note saying why, never an
exception: a per-method table of a small test set often lacks one.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

METRIC_NAMES = ("acc", "f1", "balanced_acc", "real_recall", "fake_recall", "roc_auc", "ap", "eer", "hter")


@dataclass
class DetectionMetrics:
    """Metrics of one set of clips (``name``: ``overall`` or ``real vs METHOD``)."""

    name: str
    num_clips: int
    num_real: int
    num_fake: int
    threshold: float
    acc: float
    f1: float
    balanced_acc: float
    real_recall: float
    fake_recall: float
    roc_auc: float
    ap: float
    eer: float
    hter: float
    tp: int
    fp: int
    tn: int
    fn: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


@dataclass
class MetricTable:
    """Overall metrics plus one row per generation method (that method's fakes against all real clips)."""

    overall: DetectionMetrics
    per_method: list[DetectionMetrics]

    @property
    def rows(self) -> list[DetectionMetrics]:
        return [self.overall, *self.per_method]

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall.to_dict(), "per_method": [m.to_dict() for m in self.per_method]}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN when a class is absent."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return math.nan
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, np.asarray(scores, dtype=float)))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of the fake class (sklearn's step-wise definition); NaN without both classes."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return math.nan
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, np.asarray(scores, dtype=float)))


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """EER: where the false positive rate (real called fake) meets the false negative rate."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return math.nan
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, np.asarray(scores, dtype=float), drop_intermediate=False)
    fnr = 1.0 - tpr
    gap = fnr - fpr  # starts at 1 (threshold above all scores), ends at -1
    crossing = int(np.argmax(gap <= 0))
    if gap[crossing] == 0:
        return float(fpr[crossing])
    before = crossing - 1
    weight = gap[before] / (gap[before] - gap[crossing])
    return float(fpr[before] + weight * (fpr[crossing] - fpr[before]))


def detection_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5,
                      name: str = "overall") -> DetectionMetrics:
    """All metrics of one set of clips; ``labels`` 0 real / 1 fake, ``scores`` probability of fake."""
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise ValueError(f"{len(y)} labels but {len(s)} scores")
    notes = []
    if np.isnan(s).any():
        notes.append(f"{int(np.isnan(s).sum())} NaN score(s) dropped")
        y, s = y[~np.isnan(s)], s[~np.isnan(s)]
    predicted = (s >= threshold).astype(int)
    tp = int(((predicted == 1) & (y == 1)).sum())
    fp = int(((predicted == 1) & (y == 0)).sum())
    tn = int(((predicted == 0) & (y == 0)).sum())
    fn = int(((predicted == 0) & (y == 1)).sum())
    num_real, num_fake = int((y == 0).sum()), int((y == 1).sum())
    if num_real == 0:
        notes.append("no real clips: real recall, balanced ACC, HTER, ROC-AUC, AP and EER undefined")
    if num_fake == 0:
        notes.append("no fake clips: fake recall, balanced ACC, HTER, ROC-AUC, AP and EER undefined")
    real_recall = _ratio(tn, tn + fp)
    fake_recall = _ratio(tp, tp + fn)
    balanced = (real_recall + fake_recall) / 2  # NaN propagates when a class is missing
    return DetectionMetrics(
        name=name, num_clips=len(y), num_real=num_real, num_fake=num_fake, threshold=float(threshold),
        acc=_ratio(tp + tn, len(y)),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        balanced_acc=balanced,
        real_recall=real_recall,
        fake_recall=fake_recall,
        roc_auc=roc_auc(y, s),
        ap=average_precision(y, s),
        eer=equal_error_rate(y, s),
        hter=1.0 - balanced,
        tp=tp, fp=fp, tn=tn, fn=fn, notes=notes,
    )


def metric_table(labels: Sequence[int], scores: Sequence[float], methods: Sequence[str],
                 threshold: float = 0.5) -> MetricTable:
    """Overall metrics, then real clips against each fake method's clips (methods sorted by name).

    A clip is real by its label, whatever its method string says.
    """
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    m = np.asarray(list(methods), dtype=object)
    if not (len(y) == len(s) == len(m)):
        raise ValueError(f"{len(y)} labels, {len(s)} scores, {len(m)} methods")
    overall = detection_metrics(y, s, threshold, name="overall")
    real = y == 0
    rows = []
    for method in sorted({str(v) for v in m[y == 1]}):
        chosen = real | ((y == 1) & (m == method))
        rows.append(detection_metrics(y[chosen], s[chosen], threshold, name=f"real vs {method}"))
    return MetricTable(overall=overall, per_method=rows)
