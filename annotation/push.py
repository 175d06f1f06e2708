"""Send chosen posts to Label Studio as tasks, with the model's pre-annotations.

Every input row ends as ``pushed``, ``skipped`` (with the reason) or ``error`` (file, line,
field). A task carries a stable key (post id + text hash) in its data, so pushing the same
file twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

from pydantic import BaseModel, ValidationError

from detector.jsonl import RecordError, iter_json_objects, validation_errors
from detector.records import Post

from .config import NO, REVIEW, SIGNALS, TEXT, YES
from .select import Choice, Scored

KEY = "rw_key"  # task data field holding the dedup key


def post_key(post_id: str, text: str) -> str:
    return f"{post_id}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True)
class InputRow:
    line: int
    post: Post


def read_posts(path: Path | str, id_field: str = "id", text_field: str = "text",
               lang_field: str = "lang") -> tuple[list[InputRow], list[RecordError]]:
    """Posts from JSON Lines (a scan output or any posts file) or CSV; other columns are ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows: Iterable = iter_json_objects(path)
    elif suffix == ".csv":
        def _csv():
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                for row in reader:
                    yield reader.line_num, row
        rows = _csv()
    else:
        raise ValueError(f"{path}: unknown format {suffix!r} (use .jsonl or .csv)")
    good, bad = [], []
    for line, raw in rows:
        if isinstance(raw, RecordError):
            bad.append(raw)
            continue
        missing = [f for f in (id_field, text_field) if raw.get(f) in (None, "")]
        if missing:
            bad += [RecordError(str(path), line, f, "missing or empty") for f in missing]
            continue
        row = {"id": str(raw[id_field]), "text": raw[text_field], "lang": raw.get(lang_field) or None}
        try:
            good.append(InputRow(line, Post.model_validate(row)))
        except ValidationError as exc:
            bad += validation_errors(exc, str(path), line)
    return good, bad


def score_posts(detector, rows: Sequence[InputRow], engine=None, batch_size: int = 32) -> list[Scored]:
    from detector.signals import find_signals

    preds = detector.predict([r.post.text for r in rows], batch_size=batch_size)
    out = []
    for r, p in zip(rows, preds):
        signals = find_signals(r.post.text, r.post.lang or p.lang)
        action = engine.decide(r.post.text, p, signals).action if engine is not None else None
        out.append(Scored(r.line, r.post, p, signals, action))
    return out


def pre_annotation(item: Scored, model_version: str) -> dict:
    """The model's answer in the labelling config's terms; Label Studio shows it as a suggestion."""
    p = item.prediction
    result = [{"from_name": "label", "to_name": TEXT, "type": "choices",
               "value": {"choices": ["recruitment" if p.flagged else "benign"]}},
              {"from_name": "youth_targeting", "to_name": TEXT, "type": "choices",
               "value": {"choices": [YES if p.youth_flagged else NO]}}]
    if p.flagged and p.flagged_categories:
        result.append({"from_name": "categories", "to_name": TEXT, "type": "choices",
                       "value": {"choices": list(p.flagged_categories)}})
    for s in item.signals:
        result.append({"from_name": SIGNALS, "to_name": TEXT, "type": "labels",
                       "value": {"start": s.start, "end": s.end, "text": item.post.text[s.start:s.end],
                                 "labels": [s.type]}})
    return {"model_version": model_version, "score": round(float(p.recruitment), 4), "result": result}


def task_payload(item: Scored, choice: Choice, model_version: str, source: str) -> dict:
    p = item.prediction
    data = {TEXT: item.post.text, REVIEW: "", KEY: post_key(item.post.id, item.post.text),
            "post_id": item.post.id, "lang": item.post.lang or p.lang,
            "rw_score": round(float(p.recruitment), 4), "rw_strategy": choice.strategy,
            "rw_reason": choice.reason, "rw_source": f"{source}:{item.line}",
            "rw_policy_action": item.action or ""}
    return {"data": data, "predictions": [pre_annotation(item, model_version)]}


Status = Literal["pushed", "skipped", "error"]


class RowOutcome(BaseModel):
    line: int
    id: str | None
    status: Status
    reason: str
    task_id: int | None = None


class PushReport(BaseModel):
    file: str
    project_id: int
    strategy: str
    model_version: str
    outcomes: list[RowOutcome]

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)


def existing_keys(client, project_id: int) -> dict[str, int]:
    """Dedup keys of the tasks already in the project → task id."""
    keys = {}
    for t in client.tasks.list(project=project_id, fields="task_only", page_size=500):
        k = (t.data or {}).get(KEY)
        if k:
            keys[k] = t.id
    return keys


def import_tasks(client, project_id: int, tasks: list[dict], batch_size: int = 100,
                 progress: Callable[[int, int], None] | None = None) -> list[int]:
    """Import in batches (one big request shows no progress and may time out); task ids in order."""
    ids: list[int] = []
    for start in range(0, len(tasks), batch_size):
        batch = tasks[start : start + batch_size]
        r = client.projects.import_tasks(project_id, request=batch, return_task_ids=True)
        got = list(r.task_ids or [])
        if len(got) != len(batch):
            raise RuntimeError(f"Label Studio created {len(got)} tasks for a batch of {len(batch)}")
        ids += got
        if progress:
            progress(len(ids), len(tasks))
    return ids


def plan(rows: Sequence[InputRow], known: dict[str, int]) -> tuple[list[InputRow], list[RowOutcome]]:
    """Rows still to consider, and outcomes for those skipped before scoring (already there, repeated)."""
    fresh, skipped = [], []
    seen: dict[str, int] = {}
    for r in rows:
        k = post_key(r.post.id, r.post.text)
        if k in known:
            skipped.append(RowOutcome(line=r.line, id=r.post.id, status="skipped", task_id=known[k],
                                      reason=f"already in the project (task {known[k]})"))
        elif k in seen:
            skipped.append(RowOutcome(line=r.line, id=r.post.id, status="skipped",
                                      reason=f"same id and text as line {seen[k]}"))
        else:
            seen[k] = r.line
            fresh.append(r)
    return fresh, skipped


def push_posts(client, project, path: Path | str, detector, budget: int, mix: str, *, engine=None,
               embed: Callable[[list[str]], "object"] | None = None, seed: int = 13, batch_size: int = 100,
               progress: Callable[[int, int], None] | None = None, id_field: str = "id",
               text_field: str = "text") -> PushReport:
    from .select import parse_mix, select

    shares = parse_mix(mix)  # fail on a bad mix before any work
    rows, errors = read_posts(path, id_field, text_field)
    outcomes = [RowOutcome(line=e.line, id=None, status="error", reason=str(e)) for e in errors]
    fresh, skipped = plan(rows, existing_keys(client, project.id))
    outcomes += skipped
    items = score_posts(detector, fresh, engine) if fresh else []
    chosen = select(items, budget, shares, detector.config.threshold, embed=embed, seed=seed) if items else []
    picked = {c.index for c in chosen}
    for i, item in enumerate(items):
        if i not in picked:
            outcomes.append(RowOutcome(line=item.line, id=item.post.id, status="skipped",
                                       reason=f"not selected (strategy {mix!r}, budget {budget})"))
    tasks = [task_payload(items[c.index], c, detector.version, Path(path).name) for c in chosen]
    task_ids = import_tasks(client, project.id, tasks, batch_size, progress)
    for c, tid in zip(chosen, task_ids):
        item = items[c.index]
        outcomes.append(RowOutcome(line=item.line, id=item.post.id, status="pushed", task_id=tid,
                                   reason=f"{c.strategy}: {c.reason}"))
    outcomes.sort(key=lambda o: o.line)
    return PushReport(file=str(path), project_id=project.id, strategy=mix, model_version=detector.version,
                      outcomes=outcomes)
