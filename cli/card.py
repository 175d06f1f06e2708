"""``recruitwatch card MODEL``: write the model card from evaluation reports."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from ._app import app, console, fail


@app.command("card")
def card_command(
    model: Path = typer.Argument(..., help="Model folder."),
    report: List[str] = typer.Option(..., "--report", "-r",
                                     help="TITLE=REPORT_FOLDER=COMMAND for each evaluation to include (repeatable)."),
) -> None:
    """Render MODEL/MODEL_CARD.md; every figure comes from a report.json of `recruitwatch evaluate`."""
    from training.model_card import write_card

    specs = []
    for item in report:
        parts = item.split("=", 2)
        if len(parts) != 3:
            raise fail(f"--report takes TITLE=REPORT_FOLDER=COMMAND, got {item!r}")
        title, folder, cmd = parts
        path = Path(folder) / "report.json"
        if not path.is_file():
            raise fail(f"{path}: no such report; run `recruitwatch evaluate` first")
        specs.append((title, cmd, path))
    console.print(f"wrote {write_card(model, specs)}")
