"""``recruitwatch data validate|stats|split``: check and describe labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from detector.taxonomy import CATEGORIES, GENRES
from training.data import (CORPUS_DIR, SPLITS_FILE, DataError, corpus_files, duplicate_id_errors,
                           read_corpus, read_labelled, read_splits)

from ._app import app, console, fail

data_app = typer.Typer(help="Validate, describe and split labelled posts.", no_args_is_help=True)
app.add_typer(data_app, name="data")

PathsArg = typer.Argument(None, help="JSON Lines, CSV or Parquet files (default: the seed corpus).")
ColumnsOpt = typer.Option(None, "--column", "-c", help="Map a field to your column: text=body (repeatable).")


def _parse_columns(columns: Optional[List[str]]) -> dict[str, str]:
    out = {}
    for item in columns or []:
        if "=" not in item:
            raise fail(f"--column takes FIELD=COLUMN, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _load(paths: Optional[List[Path]], columns: Optional[List[str]]):
    files = paths or corpus_files(CORPUS_DIR)
    if not files:
        raise fail(f"no data files given and no corpus under {CORPUS_DIR}")
    records, errors = [], []
    for p in files:
        if not Path(p).is_file():
            raise fail(f"{p}: no such file")
        try:
            good, bad = read_labelled(p, _parse_columns(columns))
        except ValueError as exc:
            raise fail(str(exc))
        records += good
        errors += bad
    return files, records, errors + duplicate_id_errors(records)


@data_app.command("validate")
def validate_command(paths: Optional[List[Path]] = PathsArg, column: Optional[List[str]] = ColumnsOpt) -> None:
    """Check every record against the schema; list each bad row by file, line and field."""
    files, records, errors = _load(paths, column)
    for e in errors:
        console.print(f"[red]✗[/] {e}")
    console.print(f"{len(records)} valid records, {len(errors)} errors in {len(files)} files")
    if errors:
        raise typer.Exit(1)


def _pct(a: int, b: int) -> str:
    return f"{a} ({100 * a / b:.0f}%)" if b else "0"


def _count_table(title: str, stats: dict, keys, field: str) -> Table:
    t = Table(title=title)
    t.add_column("lang")
    for k in keys:
        t.add_column(k.replace("_", " "), justify="right")
    for s in stats.values():
        t.add_row(s.lang, *(str(getattr(s, field)[k]) for k in keys))
    return t


@data_app.command("stats")
def stats_command(paths: Optional[List[Path]] = PathsArg, column: Optional[List[str]] = ColumnsOpt,
                  diversity: bool = typer.Option(True, help="Compute near-duplicates and distinct n-grams.")) -> None:
    """Counts per language, label, category, genre and youth flag, and diversity figures."""
    from training.stats import corpus_stats

    files, records, errors = _load(paths, column)
    if errors:
        console.print(f"[yellow]{len(errors)} invalid records left out; run `recruitwatch data validate`[/]")
    stats = corpus_stats(records, with_diversity=diversity)

    t = Table(title=f"{len(records)} posts from {len(files)} files")
    for col in ("lang", "posts", "recruitment", "benign", "youth (of recr.)", "multi-cat", "hard neg. (of benign)"):
        t.add_column(col, justify="right")
    for s in stats.values():
        t.add_row(s.lang, str(s.posts), _pct(s.recruitment, s.posts), _pct(s.benign, s.posts),
                  _pct(s.youth_recruitment, s.recruitment), str(s.multi_category), _pct(s.hard_negatives, s.benign))
    console.print(t)

    kinds = sorted({k for s in stats.values() for k in s.kinds})
    for title, keys, field in (
        ("Recruitment categories per language (a post counts in each of its categories)", CATEGORIES, "categories"),
        ("Genres per language", GENRES, "genres"),
        ("Benign posts by kind (hard negatives: all but 'ordinary')", kinds, "kinds"),
    ):
        console.print(_count_table(title, stats, keys, field))

    if diversity:
        t = Table(title="Diversity (near-duplicates: masked character 5-gram Jaccard ≥ 0.5, MinHash LSH)")
        for col in ("lang", "distinct-1", "distinct-2", "distinct-3", "near-dup pairs", "posts in near-dups", "largest skeleton"):
            t.add_column(col, justify="right")
        for s in stats.values():
            d = s.diversity
            t.add_row(s.lang, f"{d.distinct_1:.3f}", f"{d.distinct_2:.3f}", f"{d.distinct_3:.3f}",
                      str(d.near_duplicate_pairs), str(d.posts_in_near_duplicates), str(d.largest_skeleton))
        console.print(t)

    if not paths and SPLITS_FILE.is_file():
        from collections import Counter

        assignment = read_splits()
        t = Table(title="Splits (near-duplicate groups never straddle them)")
        for col in ("lang", "train", "validation", "test"):
            t.add_column(col, justify="right")
        per = Counter((r.lang, assignment.get(r.id, "none")) for r in records)
        for lang in sorted({r.lang for r in records}):
            t.add_row(lang, *(str(per[(lang, s)]) for s in ("train", "validation", "test")))
        console.print(t)


@data_app.command("split")
def split_command(output: Path = typer.Option(SPLITS_FILE, "-o", "--output")) -> None:
    """Assign the corpus to train/validation/test by near-duplicate group; write the split file."""
    from collections import Counter

    from training.splits import assign_splits, write_splits

    try:
        records = read_corpus()
    except DataError as exc:
        raise fail(str(exc))
    assignment = assign_splits(records)
    write_splits(assignment, output)
    console.print(f"wrote {output}: {dict(Counter(assignment.values()))}")
