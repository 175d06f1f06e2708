"""``recruitwatch train``: fine-tune the detector on the corpus plus any labelled files."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from training.data import DataError, read_corpus, read_labelled, read_splits

from ._app import app, console, fail


def _extra_files(paths: List[Path]) -> List[Path]:
    """Files as given; a folder (a pulled annotation version or its ``datasets`` folder) gives its JSON Lines."""
    out: List[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        folder = path / "dataset" if (path / "dataset").is_dir() else path
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise fail(f"{path}: a folder, but no JSON Lines file in {folder} (give a labelled file or a pulled dataset)")
        out += files
    return out


def training_posts(extra: Optional[List[Path]]) -> tuple[list, list]:
    """The corpus train split plus any extra labelled files, and the validation split."""
    try:
        records = read_corpus()
        splits = read_splits()
    except DataError as exc:
        raise fail(str(exc))
    train_records = [r for r in records if splits.get(r.id) == "train"]
    validation = [r for r in records if splits.get(r.id) == "validation"]
    for path in _extra_files(extra or []):
        good, bad = read_labelled(path)
        if bad:
            raise fail(str(DataError(bad)))
        train_records += good
        console.print(f"added {len(good)} labelled posts from {path}")
    return train_records, validation


@app.command("train")
def train_command(
    output: Path = typer.Option(Path("runs/detector"), "-o", "--output", help="Model folder to write."),
    extra: Optional[List[Path]] = typer.Option(None, "--extra", "-e", help="More labelled files (JSONL/CSV/Parquet) or pulled annotation folders; added to training."),
    seed: int = typer.Option(13),
    epochs: int = typer.Option(4, min=1),
    learning_rate: float = typer.Option(5e-4, "--lr", "--learning-rate"),
    rank: int = typer.Option(8, "--rank", help="LoRA adapter rank."),
    lora_layers: int = typer.Option(6, help="Adapters on this many top layers."),
    batch_size: int = typer.Option(32),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Add augmented copies of training posts."),
    refit_heads: bool = typer.Option(True, "--refit-heads/--no-refit-heads", help="Refit youth and category heads by logistic regression after fine-tuning."),
    lexical: bool = typer.Option(True, "--lexical/--no-lexical", help="Blend each head with a character n-gram logistic regression."),
    screen: bool = typer.Option(True, "--screen/--no-screen", help="Fit the cheap stages batch scans use to skip plainly ordinary posts."),
    max_fpr: float = typer.Option(0.015, help="Operating point: best validation F1 with at most this false-positive rate."),
    max_steps: Optional[int] = typer.Option(None, help="Stop after this many steps (smoke tests)."),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    name: str = typer.Option("recruitwatch-base"),
    version: str = typer.Option("3", help="Model version: scans, their resume check and annotation tasks carry name@version."),
) -> None:
    """Train LoRA adapters and heads on the corpus train split, calibrate on validation."""
    from training.train import TrainOptions, train

    train_records, validation = training_posts(extra)
    console.print(f"training on {len(train_records)} posts, calibrating on {len(validation)}")
    opts = TrainOptions(seed=seed, epochs=epochs, learning_rate=learning_rate, lora_rank=rank, lora_layers=lora_layers,
                        batch_size=batch_size, augment=augment, refit_heads=refit_heads, lexical=lexical, screen=screen, max_fpr=max_fpr,
                        max_steps=max_steps, device=device,
                        name=name, version=version)
    columns = [TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.3f}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("train", total=None, loss=float("nan"))
        result = train(train_records, validation, output, opts,
                       progress=lambda s, t, l: bar.update(task, completed=s, total=t, loss=l))
    console.print(f"model written to {result.path} ({result.steps} steps, {result.seconds / 60:.1f} min); "
                  f"threshold {result.validation['threshold']:.2f}, temperature {result.validation['temperature']:.2f}")
