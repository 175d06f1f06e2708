"""``recruitwatch screen``: fit the cascade's cheap stages for a trained model folder."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app, console, fail


@app.command("screen")
def screen_command(
    model: Path = typer.Argument(..., help="Model folder (e.g. detector/models/recruitwatch-base)."),
) -> None:
    """(Re)fit the lexical screen and the early-exit probes on the corpus train split plus the bundled ordinary posts.

    `recruitwatch train` does this itself; use this for a model trained without it.
    """
    from training.data import DataError, read_corpus, read_splits
    from training.screen import fit_screen_for_model

    if not (model / "detector_config.json").is_file():
        raise fail(f"{model} is not a model folder (no detector_config.json)")
    try:
        records, splits = read_corpus(), read_splits()
    except DataError as exc:
        raise fail(str(exc))
    train = [r for r in records if splits.get(r.id) == "train"]
    validation = [r for r in records if splits.get(r.id) == "validation"]
    f = fit_screen_for_model(model, train, validation)
    p = f["probe"]
    console.print(f"screen and probe written to {model}. Screen: gate {f['gate']:.2f}; on validation "
                  f"{f['validation_must_pass_passed']:.1%} of the {f['must_pass']} posts that must reach the "
                  f"transformer do, and {f['validation_other_passed']:.1%} of the rest; "
                  f"{f['held_out_ordinary_passed']:.1%} of held-out ordinary posts go on. Probes (exits after layers "
                  f"{', '.join(map(str, p['layers']))}): gates "
                  f"{', '.join(format(e['gate'], '.2f') for e in p['exits'])}; {p['held_out_ordinary_reaching_all_layers']:.1%} "
                  f"of held-out ordinary posts reach the last layers")
