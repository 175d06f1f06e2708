"""``recruitwatch predict``: score posts given on the command line or in a JSON Lines file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ._app import app, console, fail


@app.command("predict")
def predict_command(
    texts: Optional[List[str]] = typer.Argument(None, help="Posts to score."),
    input: Optional[Path] = typer.Option(None, "-i", "--input", help="JSON Lines of posts (id, text)."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the shipped model)."),
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help="Apply a policy (e.g. policies/library/default.yaml)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON record per line."),
) -> None:
    """Score posts with the detector; with --policy, show each post's signals and decision."""
    from detector.detector import Detector
    from detector.jsonl import RecordError, iter_jsonl
    from detector.records import Post

    ids, items = [], []
    for i, t in enumerate(texts or []):
        ids.append(str(i + 1))
        items.append(t)
    if input:
        for rec in iter_jsonl(input, Post):
            if isinstance(rec, RecordError):
                console.print(f"[yellow]skipped[/] {rec}")
                continue
            ids.append(rec.id)
            items.append(rec.text)
    if not items:
        raise fail("give posts as arguments or with --input")
    try:
        det = Detector.load(model)
    except FileNotFoundError as exc:
        raise fail(str(exc))
    preds = det.predict(items)
    decisions = [None] * len(preds)
    if policy:
        from detector.signals import find_signals
        from policies.engine import PolicyEngine
        from policies.loader import PolicyError, load_policy

        try:
            engine = PolicyEngine(load_policy(policy))
        except PolicyError as exc:
            raise fail(str(exc))
        decisions = [engine.decide(t, p, find_signals(t, p.lang)) for t, p in zip(items, preds)]
    if as_json:
        for i, p, d in zip(ids, preds, decisions):
            row = {"id": i, **p.model_dump()}
            if d is not None:
                row["decision"] = d.model_dump()
            print(json.dumps(row, ensure_ascii=False))
        return
    t = Table(title=f"{det.version}: flagged at ≥ {det.config.threshold:.2f}")
    cols = ["id", "lang", "recruitment", "flagged", "categories", "youth"] + (["action", "rule"] if policy else []) + ["text"]
    for col in cols:
        t.add_column(col)
    for i, p, d, text in zip(ids, preds, decisions, items):
        row = [i, p.lang, f"{p.recruitment:.2f}", "yes" if p.flagged else "no", ", ".join(p.flagged_categories),
               f"{p.youth_targeting:.2f}"]
        if d is not None:
            row += [d.action, d.rule or "–"]
        t.add_row(*row, text[:60] + ("…" if len(text) > 60 else ""))
    console.print(t)
    if policy:
        from collections import Counter as _C

        console.print("decisions: " + ", ".join(f"{a} {n}" for a, n in _C(d.action for d in decisions).most_common()))
    from collections import Counter

    flagged = [p for p in preds if p.flagged]
    cats = Counter(c for p in flagged for c in p.flagged_categories)
    band = det.config.review_band
    unsure = sum(band[0] <= p.recruitment < band[1] for p in preds)
    console.print(f"{len(preds)} posts: [bold]{len(flagged)}[/] flagged as recruitment "
                  f"({sum(p.youth_flagged for p in flagged)} aimed at young people), {unsure} in the uncertain band "
                  f"{band[0]:.1f}-{band[1]:.1f} (for human review)")
    if cats:
        console.print("categories: " + ", ".join(f"{c} {n}" for c, n in cats.most_common()))
