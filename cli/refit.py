"""``recruitwatch refit``: redo what follows fine-tuning on a trained model, adapters untouched."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._app import app, console, fail
from .train import training_posts


@app.command("refit")
def refit_command(
    model: Path = typer.Argument(..., help="Model folder (e.g. detector/models/recruitwatch-base)."),
    extra: Optional[List[Path]] = typer.Option(None, "--extra", "-e", help="More labelled files (JSONL/CSV/Parquet) or pulled annotation folders; added to training."),
    screen: bool = typer.Option(True, "--screen/--no-screen", help="Refit the cascade's cheap stages too (their gates follow the model's flags)."),
    version: Optional[str] = typer.Option(None, help="New model version (scans resume and annotation tasks match by name@version); default: keep it."),
) -> None:
    """Refit the youth and category heads, the lexical heads and the calibration on the corpus
    train split (plus any extra labelled files), with the model's stored training options.

    Minutes instead of a fine-tuning run: use it to fold in new labels, or to bring a model
    trained by an older version up to date. `recruitwatch train` does all of this itself.
    """
    from training.train import refit

    if not (model / "detector_config.json").is_file():
        raise fail(f"{model} is not a model folder (no detector_config.json)")
    train_records, validation = training_posts(extra)
    console.print(f"refitting on {len(train_records)} posts, calibrating on {len(validation)}")
    f = refit(model, train_records, validation, screen=screen, version=version)
    lexical = f["heads"].get("lexical")
    blend = ", ".join(f"{k} {v['blend']:.2f}" for k, v in lexical["heads"].items()) if lexical else "none"
    console.print(f"written to {model} (version {f['version']}): threshold {f['threshold']:.2f}; "
                  f"lexical share of each head: {blend}")
