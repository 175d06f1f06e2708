"""``recruitwatch embed``: embed a JSON Lines file of posts with the backbone."""

import time
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.table import Table

from detector.backbone import BackboneError, Encoder
from detector.jsonl import RecordError, iter_jsonl
from detector.records import Post

from ._app import app, console, fail


@app.command("embed")
def embed_command(
    input: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines with `id`, `text` and optionally `lang`."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write ids and embeddings to this .npz file."),
    backbone: Optional[str] = typer.Option(None, help="Hugging Face id or local folder (default: offline multilingual-e5-small)."),
    batch_size: int = typer.Option(32, min=1),
    errors: Optional[Path] = typer.Option(None, help="Where bad lines go (default: OUTPUT with .errors.jsonl, or the terminal)."),
) -> None:
    """Embed posts and print a summary, including each post's nearest neighbour."""
    posts: list[Post] = []
    bad: list[RecordError] = []
    for rec in iter_jsonl(input, Post):
        (bad if isinstance(rec, RecordError) else posts).append(rec)
    try:
        encoder = Encoder.load(backbone)
    except BackboneError as exc:
        raise fail(str(exc))
    start = time.perf_counter()
    vectors = encoder.embed([p.text for p in posts], batch_size=batch_size)
    seconds = time.perf_counter() - start

    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        np.savez(output, ids=np.array([p.id for p in posts]), embeddings=vectors)
    _report_errors(bad, errors or (output.with_suffix(".errors.jsonl") if output else None))

    langs = Counter(p.lang or "?" for p in posts)
    console.print(f"[bold]{len(posts)}[/] posts embedded, [bold]{len(bad)}[/] lines in error "
                  f"(of {len(posts) + len(bad)} read from {input})")
    console.print(f"dimension {vectors.shape[1]}, {seconds:.2f} s, {len(posts) / max(seconds, 1e-9):.1f} posts/s")
    console.print("languages: " + ", ".join(f"{k} {v}" for k, v in langs.most_common()))
    if len(posts) > 1:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1)
        table = Table(title="Nearest neighbour of each post (cosine)")
        for col in ("post", "lang", "nearest", "lang ", "cosine"):
            table.add_column(col)
        for i, j in enumerate(sims.argmax(1)):
            table.add_row(posts[i].id, posts[i].lang or "?", posts[j].id, posts[j].lang or "?", f"{sims[i, j]:.3f}")
        console.print(table)
    if output:
        console.print(f"embeddings written to {output}")


def _report_errors(bad: list[RecordError], path: Optional[Path]) -> None:
    if not bad:
        return
    if path:
        import json

        with open(path, "w", encoding="utf-8") as f:
            for e in bad:
                f.write(json.dumps({"file": e.file, "line": e.line, "field": e.field, "message": e.message}) + "\n")
        console.print(f"[yellow]{len(bad)} bad lines written to {path}[/]")
    else:
        for e in bad:
            console.print(f"[yellow]skipped[/] {e}")
