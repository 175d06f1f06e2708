"""``recruitwatch evaluate MODEL DATA``: metrics, baselines, plots."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from rich.table import Table

from training.data import DataError, read_corpus, read_labelled, read_splits

from ._app import app, console, fail


def _load_eval(data: List[str]):
    """Files, or ``corpus:SPLIT`` for a split of the seed corpus."""
    records = []
    for item in data:
        if item.startswith("corpus:"):
            split = item.split(":", 1)[1]
            assignment = read_splits()
            records += [r for r in read_corpus() if assignment.get(r.id) == split]
        else:
            good, bad = read_labelled(item)
            if bad:
                raise DataError(bad)
            records += good
    return records


@app.command("evaluate")
def evaluate_command(
    model: Path = typer.Argument(..., help="Model folder (e.g. detector/models/recruitwatch-base)."),
    data: List[str] = typer.Argument(..., help="Labelled files, or corpus:test / corpus:validation."),
    output: Path = typer.Option(Path("runs/eval"), "-o", "--output", help="Report folder."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Train and score the three baselines too."),
    robustness: bool = typer.Option(True, "--robustness/--no-robustness"),
) -> None:
    """Write report.json, report.md and PNG plots comparing the detector with baselines."""
    from detector.detector import Detector
    from training.evaluate import DetectorSystem, evaluate

    try:
        records = _load_eval(data)
        corpus = read_corpus()
        splits = read_splits()
    except DataError as exc:
        raise fail(str(exc))
    try:
        systems = [DetectorSystem(Detector.load(model))]
    except FileNotFoundError as exc:
        raise fail(str(exc))
    if baselines:
        from training.baselines import EmbeddingBaseline, KeywordBaseline, TfidfBaseline

        train = [r for r in corpus if splits.get(r.id) == "train"]
        val = [r for r in corpus if splits.get(r.id) == "validation"]
        with console.status("training baselines on the corpus train split..."):
            for b in (KeywordBaseline(), TfidfBaseline(), EmbeddingBaseline()):
                b.fit(train)
                b.tune(val, max_fpr=systems[0].detector.config.training.get("options", {}).get("max_fpr", 0.03))
                systems.append(b)
    with console.status(f"scoring {len(records)} posts with {len(systems)} systems..."):
        report = evaluate(systems, records, output, robustness=robustness)
    t = Table(title=f"{len(records)} posts")
    for col in ("system", "P", "R", "F1", "FPR", "hard-neg FPR", "cat macro-F1", "youth F1", "ECE", "F1 drop (aug)"):
        t.add_column(col, justify="right")
    for name, m in report["systems"].items():
        r = m["recruitment"]
        t.add_row(name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", f"{r['fpr']:.3f}",
                  f"{m['hard_negatives']['fpr']:.3f}", f"{m.get('category_macro_f1', 0):.3f}", f"{m.get('youth_f1', 0):.3f}",
                  f"{m['ece']:.3f}", f"{m.get('robustness', {}).get('f1_drop', float('nan')):.3f}")
    console.print(t)
    console.print(f"report: {output / 'report.md'} (and report.json, pr_curves.png, reliability.png, per_language.png)")
