"""Likely label errors, found with cleanlab from out-of-fold predicted probabilities.

Probabilities come from logistic regressions on the detector's frozen embeddings, each
post scored by a model that never saw it (k-fold), which is what cleanlab's confident
learning needs. Issues can be sent back to Label Studio: the task's ``review`` field says
what looks wrong (shown above the post) and a Data Manager tab lists every such task.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from pydantic import BaseModel

from detector.records import LabelledPost

ISSUE_FIELDS = ("label", "youth_targeting", "genre")
VIEW_TITLE = "recruitwatch: label issues"


class LabelIssue(BaseModel):
    post_id: str
    field: str
    given: str
    suggested: str
    given_probability: float  # out-of-fold probability of the given label
    suggested_probability: float
    quality: float  # cleanlab's self-confidence: low means likely wrong
    text: str
    task_id: int | None = None

    @property
    def message(self) -> str:
        return (f"Possible label error in '{self.field}': given '{self.given}' "
                f"(p={self.given_probability:.2f}), the data suggest '{self.suggested}' "
                f"(p={self.suggested_probability:.2f}). Please check and correct.")


def _value(post: LabelledPost, field: str) -> str:
    return str(getattr(post, field)).lower() if field == "youth_targeting" else str(getattr(post, field))


def out_of_fold_probabilities(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(clf, X, y, cv=cv, method="predict_proba")


def find_issues(posts: Sequence[LabelledPost], embeddings: np.ndarray, check: set[str] | None = None,
                fields: Sequence[str] = ISSUE_FIELDS, max_folds: int = 5, seed: int = 13
                ) -> tuple[list[LabelIssue], list[str]]:
    """Issues among the posts whose id is in ``check`` (all if None), and notes on fields skipped.

    ``posts`` may include more labelled data (the seed corpus) than is checked: it makes
    the out-of-fold models better without reporting on the corpus.
    """
    from cleanlab.filter import find_label_issues

    X = np.asarray(embeddings, dtype=np.float64)
    issues: list[LabelIssue] = []
    notes: list[str] = []
    for field in fields:
        values = np.array([_value(p, field) for p in posts])
        classes, counts = np.unique(values, return_counts=True)
        # Classes rarer than two posts cannot be predicted out of fold; leave them be.
        keep = np.isin(values, classes[counts >= 2])
        classes = classes[counts >= 2]
        if len(classes) < 2:
            notes.append(f"{field}: fewer than two values with two or more posts; not checked")
            continue
        folds = int(min(max_folds, counts[counts >= 2].min()))
        idx = np.flatnonzero(keep)
        y = np.searchsorted(classes, values[idx])
        probs = out_of_fold_probabilities(X[idx], y, folds, seed)
        found = find_label_issues(labels=y, pred_probs=probs, return_indices_ranked_by="self_confidence")
        for j in found:
            post = posts[idx[j]]
            if check is not None and post.id not in check:
                continue
            best = int(np.argmax(probs[j]))
            issues.append(LabelIssue(post_id=post.id, field=field, given=classes[y[j]], suggested=classes[best],
                                     given_probability=float(probs[j, y[j]]), suggested_probability=float(probs[j, best]),
                                     quality=float(probs[j, y[j]]), text=post.text))
        if len(idx) < len(posts):
            notes.append(f"{field}: {len(posts) - len(idx)} posts with a value seen only once were not checked")
    issues.sort(key=lambda i: i.quality)
    return issues, notes


def embed_with_detector(detector) -> Callable[[list[str]], np.ndarray]:
    from detector.detector import model_pooled
    from detector.normalize import normalize

    return lambda texts: model_pooled(detector.net, [normalize(t) for t in texts])


def send_for_review(client, project_id: int, issues: Sequence[LabelIssue]) -> int:
    """Write each issue into its task's ``review`` field and make sure a tab lists them; tasks updated."""
    by_task: dict[int, list[LabelIssue]] = {}
    for i in issues:
        if i.task_id is not None:
            by_task.setdefault(i.task_id, []).append(i)
    for tid, found in by_task.items():
        task = client.tasks.get(str(tid))
        data = dict(task.data or {})
        data["review"] = " ".join(i.message for i in found)
        client.tasks.update(str(tid), data=data)
    views = [v for v in client.views.list(project=project_id) if (v.data or {}).get("title") == VIEW_TITLE]
    if not views:
        client.views.create(project=project_id, data={
            "title": VIEW_TITLE,
            "filters": {"conjunction": "and", "items": [
                {"filter": "filter:tasks:data.review", "operator": "empty", "type": "String", "value": False}]}})
    return len(by_task)
