"""How far annotators agree, per field: Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha.

Label Studio Community has no agreement statistics. Each field is treated as nominal;
``categories`` becomes one yes/no field per category so that a multi-choice answer is
compared category by category. Only tasks with at least two annotations count.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
from pydantic import BaseModel

from detector.taxonomy import CATEGORIES

from .pull import AnnotationRecord

BASE_FIELDS = ("label", "youth_targeting", "genre")


def field_values(a: AnnotationRecord) -> dict[str, object]:
    out = {"label": a.label, "youth_targeting": a.youth_targeting, "genre": a.genre}
    out.update({f"categories.{c}": c in a.categories for c in CATEGORIES})
    return out


FIELDS = BASE_FIELDS + tuple(f"categories.{c}" for c in CATEGORIES)


class PairKappa(BaseModel):
    a: str
    b: str
    n: int
    kappa: float | None  # None when undefined (both gave one single value throughout)


class FieldAgreement(BaseModel):
    field: str
    units: int  # tasks with two or more annotations
    raters: int
    percent_agreement: float | None
    cohen: list[PairKappa]
    fleiss: float | None
    krippendorff_alpha: float | None


class Disagreement(BaseModel):
    task_id: int
    post_id: str
    text: str
    fields: dict[str, dict[str, object]]  # field → annotator → value


class AgreementReport(BaseModel):
    annotators: list[str]
    tasks: int
    fields: list[FieldAgreement]
    disagreements: list[Disagreement]


def fleiss_kappa(table: np.ndarray) -> float | None:
    """Fleiss' kappa of a (units, categories) count table with the same number of raters per unit."""
    table = np.asarray(table, dtype=float)
    n = table.sum(1)
    if len(table) == 0 or not np.all(n == n[0]) or n[0] < 2:
        return None
    n = n[0]
    p_j = table.sum(0) / table.sum()
    p_i = (np.square(table).sum(1) - n) / (n * (n - 1))
    p_bar, p_e = p_i.mean(), np.square(p_j).sum()
    if np.isclose(p_e, 1.0):
        return None
    return float((p_bar - p_e) / (1 - p_e))


def _cohen(x: list, y: list) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(x) | set(y)) < 2:
        return None
    k = cohen_kappa_score([str(v) for v in x], [str(v) for v in y])
    return None if np.isnan(k) else float(k)


def _alpha(matrix: list[list[object]]) -> float | None:
    import krippendorff

    values = sorted({str(v) for row in matrix for v in row if v is not None})
    if len(values) < 2:
        return None
    code = {v: i for i, v in enumerate(values)}
    data = np.array([[np.nan if v is None else code[str(v)] for v in row] for row in matrix], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def agreement(records: list[AnnotationRecord]) -> AgreementReport:
    by_task: dict[int, dict[str, AnnotationRecord]] = defaultdict(dict)
    for r in records:
        # An annotator who answered a task twice counts once: their latest answer.
        prev = by_task[r.task_id].get(r.annotator)
        if prev is None or (r.updated_at or "") >= (prev.updated_at or ""):
            by_task[r.task_id][r.annotator] = r
    multi = {t: anns for t, anns in by_task.items() if len(anns) >= 2}
    annotators = sorted({a for anns in multi.values() for a in anns})
    tasks = sorted(multi)
    out = []
    for field in FIELDS:
        values = {t: {a: field_values(r)[field] for a, r in multi[t].items()} for t in tasks}
        agree = [len(set(map(str, v.values()))) == 1 for v in values.values()]
        pairs = []
        for a, b in itertools.combinations(annotators, 2):
            common = [t for t in tasks if a in values[t] and b in values[t]]
            if common:
                pairs.append(PairKappa(a=a, b=b, n=len(common),
                                       kappa=_cohen([values[t][a] for t in common], [values[t][b] for t in common])))
        # Fleiss needs the same number of raters per unit: use the units with the usual number.
        counts = [len(values[t]) for t in tasks]
        fleiss = None
        if counts:
            usual = max(set(counts), key=counts.count)
            cats = sorted({str(v) for t in tasks for v in values[t].values()})
            table = [[sum(str(v) == c for v in values[t].values()) for c in cats] for t in tasks if len(values[t]) == usual]
            fleiss = fleiss_kappa(np.array(table)) if table else None
        matrix = [[values[t].get(a) for t in tasks] for a in annotators]
        out.append(FieldAgreement(field=field, units=len(tasks), raters=len(annotators),
                                  percent_agreement=float(np.mean(agree)) if agree else None,
                                  cohen=pairs, fleiss=fleiss, krippendorff_alpha=_alpha(matrix) if tasks else None))
    disagreements = []
    for t in tasks:
        anns = multi[t]
        differing = {}
        for field in BASE_FIELDS + ("categories",):
            vals = {a: (sorted(r.categories) if field == "categories" else getattr(r, field)) for a, r in anns.items()}
            if len({str(v) for v in vals.values()}) > 1:
                differing[field] = vals
        if differing:
            first = next(iter(anns.values()))
            disagreements.append(Disagreement(task_id=t, post_id=first.post_id, text=first.text, fields=differing))
    return AgreementReport(annotators=annotators, tasks=len(tasks), fields=out, disagreements=disagreements)
