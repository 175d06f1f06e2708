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
    as_json: bool = typer.Option(False, "--json", help="Print one JSON prediction per line."),
) -> None:
    """Score posts with the detector."""
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
    if as_json:
        for i, p in zip(ids, preds):
            print(json.dumps({"id": i, **p.model_dump()}, ensure_ascii=False))
        return
    t = Table(title=f"{det.version}: flagged at ≥ {det.config.threshold:.2f}")
    for col in ("id", "lang", "recruitment", "flagged", "categories", "youth", "text"):
        t.add_column(col)
    for i, p, text in zip(ids, preds, items):
        t.add_row(i, p.lang, f"{p.recruitment:.2f}", "yes" if p.flagged else "no", ", ".join(p.flagged_categories),
                  f"{p.youth_targeting:.2f}", text[:70] + ("…" if len(text) > 70 else ""))
    console.print(t)
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
