"""Bring annotations back: one provenance record per annotation, one resolved label per post.

Tasks are read page by page (``tasks.list``, ``fields="all"``) rather than with one bulk
export, which times out on big projects and lists predictions only by id. Several
annotations of a task are resolved field by field by majority; a tie goes to
``review.jsonl`` instead of being guessed. The output folder is versioned
(``v0001``, ``v0002``, ...) and holds a ``datasets`` folder with ``data.jsonl``, which
``recruitwatch train --extra`` reads.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ValidationError

from detector.records import LabelledPost
from detector.taxonomy import BENIGN, RECRUITMENT

from .config import NO, YES
from .push import KEY


class AnnotationRecord(BaseModel):
    """One annotator's answer on one task, with where it came from."""

    project_id: int
    task_id: int
    annotation_id: int
    post_id: str
    key: str | None
    text: str
    lang: str
    annotator: str
    annotator_id: int | None
    created_at: str | None
    updated_at: str | None
    lead_time: float | None
    model_version: str | None  # of the pre-annotation shown to the annotator, if any
    model_score: float | None
    label: str | None
    categories: list[str]
    youth_targeting: bool | None
    genre: str | None
    note: str


class PullProblem(BaseModel):
    task_id: int
    annotation_id: int | None
    post_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"task {self.task_id}" + (f" annotation {self.annotation_id}" if self.annotation_id else "")
        return f"{where}" + (f" field '{self.field}'" if self.field else "") + f": {self.message}"


class ReviewItem(BaseModel):
    task_id: int
    post_id: str
    text: str
    reasons: list[str]
    annotations: list[dict]


def _choices(result: list[dict], name: str) -> list[str] | None:
    for r in result or []:
        if r.get("from_name") == name and r.get("type") == "choices":
            return list((r.get("value") or {}).get("choices") or [])
    return None


def _text(result: list[dict], name: str) -> str:
    for r in result or []:
        if r.get("from_name") == name and r.get("type") == "textarea":
            return " ".join((r.get("value") or {}).get("text") or []).strip()
    return ""


def _get(obj, name, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def parse_task(task, project_id: int, users: dict[int, str]) -> tuple[list[AnnotationRecord], list[PullProblem]]:
    data = _get(task, "data") or {}
    tid = int(_get(task, "id"))
    post_id = str(data.get("post_id") or f"ls-task-{tid}")
    preds = sorted(_get(task, "predictions") or [], key=lambda p: str(_get(p, "created_at") or ""))
    model_version = _get(preds[-1], "model_version") if preds else None
    model_score = _get(preds[-1], "score") if preds else None
    records, problems = [], []
    for a in _get(task, "annotations") or []:
        aid = int(a["id"])
        if a.get("was_cancelled"):
            problems.append(PullProblem(task_id=tid, annotation_id=aid, post_id=post_id, field=None,
                                        message="skipped by the annotator (not a label)"))
            continue
        result = a.get("result") or []
        label = (_choices(result, "label") or [None])[0]
        youth = (_choices(result, "youth_targeting") or [None])[0]
        genre = (_choices(result, "genre") or [None])[0]
        cats = _choices(result, "categories") or []
        uid = a.get("completed_by")
        uid = uid.get("id") if isinstance(uid, dict) else uid
        rec = AnnotationRecord(
            project_id=project_id, task_id=tid, annotation_id=aid, post_id=post_id, key=data.get(KEY),
            text=data.get("text", ""), lang=data.get("lang") or "und",
            annotator=users.get(uid, f"user-{uid}"), annotator_id=uid,
            created_at=_iso(a.get("created_at")), updated_at=_iso(a.get("updated_at")), lead_time=a.get("lead_time"),
            model_version=model_version, model_score=model_score,
            label=label, categories=cats if label == RECRUITMENT else [],
            youth_targeting=None if youth is None else youth == YES, genre=genre, note=_text(result, "note"))
        missing = [f for f, v in (("label", label), ("youth_targeting", youth), ("genre", genre)) if v is None]
        if label == RECRUITMENT and not cats:
            missing.append("categories")
        for f in missing:
            problems.append(PullProblem(task_id=tid, annotation_id=aid, post_id=post_id, field=f,
                                        message="not answered; this annotation is left out"))
        if not missing:
            records.append(rec)
    return records, problems


def _majority(values: list, what: str) -> tuple[object | None, str | None]:
    counts = Counter(values).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        tied = sorted(str(v) for v, n in counts if n == counts[0][1])
        return None, f"{what}: tie between {' and '.join(tied)}"
    return counts[0][0], None


def resolve(annotations: list[AnnotationRecord]) -> tuple[LabelledPost | None, list[str]]:
    """The post's label by field-wise majority, or the reasons it needs a human to decide."""
    first = annotations[0]
    reasons = []
    label, why = _majority([a.label for a in annotations], "label")
    reasons += [why] if why else []
    youth, why = _majority([a.youth_targeting for a in annotations], "youth_targeting")
    reasons += [why] if why else []
    genre, why = _majority([a.genre for a in annotations], "genre")
    reasons += [why] if why else []
    categories: list[str] = []
    if label == RECRUITMENT:
        voters = [a for a in annotations if a.label == RECRUITMENT]
        counts = Counter(c for a in voters for c in a.categories)
        half = len(voters) / 2
        categories = sorted(c for c, n in counts.items() if n > half)
        tied = sorted(c for c, n in counts.items() if n == half)
        if tied:
            reasons.append(f"categories: half the annotators chose {', '.join(tied)}")
        elif not categories:
            reasons.append("categories: no category has a majority")
    if reasons:
        return None, reasons
    notes = "; ".join(dict.fromkeys(a.note for a in annotations if a.note))
    try:
        post = LabelledPost(id=first.post_id, text=first.text, lang=first.lang, label=label or BENIGN,
                            categories=tuple(categories), youth_targeting=bool(youth), genre=genre, note=notes)
    except ValidationError as exc:  # a value the taxonomy no longer has, say
        return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return post, []


class PullResult(BaseModel):
    folder: str
    version: int
    tasks: int
    annotations: int
    posts: int
    review: int
    problems: int


def fetch(client, project, progress: Callable[[int, int], None] | None = None
          ) -> tuple[list[AnnotationRecord], list[PullProblem], int]:
    users = {}
    for u in client.users.list():
        users[u.id] = u.email or u.username or f"user-{u.id}"
    records, problems, n_tasks = [], [], 0
    total = getattr(project, "task_number", None) or 0
    pager = client.tasks.list(project=project.id, fields="all", page_size=100)
    for task in pager:
        n_tasks += 1
        r, p = parse_task(task, project.id, users)
        records += r
        problems += p
        if progress:
            progress(n_tasks, max(total, n_tasks))
    return records, problems, n_tasks


def next_version(out_dir: Path) -> int:
    versions = [int(p.name[1:]) for p in Path(out_dir).glob("v[0-9]*") if p.name[1:].isdigit()]
    return max(versions, default=0) + 1


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def write_pull(out_dir: Path | str, project, records: list[AnnotationRecord], problems: list[PullProblem],
               n_tasks: int) -> PullResult:
    """Resolve per task and write a new version folder under ``out_dir``."""
    from training.data import save_dataset, to_dataset

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    version = next_version(out_dir)
    folder = out_dir / f"v{version:04d}"
    folder.mkdir()
    by_task: dict[int, list[AnnotationRecord]] = {}
    for r in records:
        by_task.setdefault(r.task_id, []).append(r)
    posts: list[LabelledPost] = []
    review: list[ReviewItem] = []
    used_ids: Counter = Counter()
    for tid, anns in sorted(by_task.items()):
        post, reasons = resolve(anns)
        if post is None:
            review.append(ReviewItem(task_id=tid, post_id=anns[0].post_id, text=anns[0].text, reasons=reasons,
                                     annotations=[a.model_dump(include={"annotator", "label", "categories",
                                                                        "youth_targeting", "genre", "note"})
                                                  for a in anns]))
            continue
        used_ids[post.id] += 1
        if used_ids[post.id] > 1:  # the same post id with another text (edited post): keep both, apart
            post = post.model_copy(update={"id": f"{post.id}#task{tid}"})
        posts.append(post)
    if posts:
        save_dataset(to_dataset(posts), folder / "dataset")
    else:  # `datasets` cannot save an empty table; an empty JSON Lines file still trains to nothing
        (folder / "dataset").mkdir()
        (folder / "dataset" / "data.jsonl").write_text("", encoding="utf-8")
    _write_jsonl(folder / "annotations.jsonl", (r.model_dump() for r in records))
    _write_jsonl(folder / "review.jsonl", (r.model_dump() for r in review))
    _write_jsonl(folder / "problems.jsonl", (p.model_dump() for p in problems))
    data_file = folder / "dataset" / "data.jsonl"
    manifest = {
        "version": version, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "project": {"id": project.id, "title": project.title}, "tasks": n_tasks, "annotations": len(records),
        "annotators": sorted({r.annotator for r in records}), "posts": len(posts), "review": len(review),
        "problems": len(problems), "model_versions": sorted({r.model_version for r in records if r.model_version}),
        "data_sha256": hashlib.sha256(data_file.read_bytes()).hexdigest(),
        "train_with": f"recruitwatch train --extra {folder / 'dataset'}",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return PullResult(folder=str(folder), version=version, tasks=n_tasks, annotations=len(records), posts=len(posts),
                      review=len(review), problems=len(problems))


def read_annotations(folder: Path | str) -> list[AnnotationRecord]:
    """The provenance records of a pulled version (for agreement and label issues offline)."""
    path = Path(folder) / "annotations.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a pulled annotation folder (no annotations.jsonl)")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(AnnotationRecord.model_validate_json(line))
            except ValidationError as exc:
                raise ValueError(f"{path}:{n}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
    return out
