"""``recruitwatch scan``: score a whole file of posts, streaming, resumable, locally or on Ray."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ._app import app, console, err_console, fail


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def _resume_hint(input: str, output: str) -> str:
    return f"recruitwatch scan {input} -o {output} --resume (with the same options)"


def summary_table(summary, result_paths: dict[str, str]) -> list:
    """The end-of-scan report: what was decided, in which languages, and where it went."""
    s = summary
    out = []
    head = Table(title=f"{s.rows_in} rows in = {s.scored} scored + {s.errors} in error", show_header=False)
    head.add_row("flagged by the model", f"{s.flagged} ({s.flagged / max(s.scored, 1):.1%})")
    head.add_row("through the whole transformer", f"{s.stages.get('model', 0)} "
                 f"({s.stages.get('model', 0) / max(s.scored, 1):.1%}); cleared by the lexical screen: "
                 f"{s.stages.get('screen', 0)}, at an early exit: {s.stages.get('probe', 0)}")
    head.add_row("time", f"{s.seconds:.1f} s ({s.rows_in / max(s.seconds, 1e-9):.0f} posts/s)")
    out.append(head)
    for title, counter in (("action", s.actions), ("flagged category", s.categories), ("language", s.languages)):
        t = Table(title=None)
        t.add_column(title)
        t.add_column("posts", justify="right")
        t.add_column("share", justify="right")
        total = max(sum(counter.values()), 1)
        for k, v in counter.most_common(12):
            t.add_row(str(k), str(v), f"{v / total:.1%}")
        if len(counter) > 12:
            rest = sum(v for _, v in counter.most_common()[12:])
            t.add_row(f"({len(counter) - 12} more)", str(rest), f"{rest / total:.1%}")
        out.append(t)
    # Plain lines, not a table: paths stay whole, to copy or grep.
    out += [f"{k}: {v}" for k, v in result_paths.items()]
    return out


@app.command("scan")
def scan_command(
    input: str = typer.Argument(..., help="Posts: .jsonl, .csv or .parquet, or - for JSON Lines on stdin."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write one record per row (.jsonl, .csv or .parquet)."),
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help="Policy to apply (default: policies/library/default.yaml)."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the shipped model)."),
    text_field: str = typer.Option("text", help="Field or column holding the post text."),
    id_field: str = typer.Option("id", help="Field or column holding the post id (rows without one get line-N)."),
    format: Optional[Format] = typer.Option(None, "--format", help="Output format (default: from the output's extension)."),
    input_format: Optional[Format] = typer.Option(None, help="Input format (default: from the input's extension)."),
    engine: Engine = typer.Option(Engine.local, help="local, or ray (cluster from RAY_ADDRESS; a local Ray otherwise)."),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    precision: Precision = typer.Option(Precision.auto, help="The transformer's number format: auto is bf16 where the CPU or GPU has it natively, fp32 elsewhere."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted scan into the same output."),
    cascade: bool = typer.Option(True, "--cascade/--no-cascade", help="Let the cheap stages (lexical screen, early exits) clear plainly ordinary posts."),
    with_text: bool = typer.Option(False, "--with-text", help="Copy each post's text into its record (to push the output to annotators)."),
    chunk_size: int = typer.Option(1024, min=1, help="Rows per chunk: the unit of checkpointing."),
    batch_size: int = typer.Option(64, min=1, help="Texts per transformer batch."),
    threads: Optional[int] = typer.Option(None, min=1, help="Torch threads (default: all cores)."),
    prepare_ahead: bool = typer.Option(False, "--prepare-ahead", help="Prepare the next chunk (language, signals, screen) in a further thread while the transformer scores this one: for machines where torch leaves a core idle."),
    actors: int = typer.Option(2, min=1, help="Ray: detector actors in the pool."),
    gpus_per_actor: float = typer.Option(0.0, min=0.0, help="Ray: GPUs for each actor (use with --device cuda)."),
) -> None:
    """Score every row of INPUT and write decisions to OUTPUT, with an errors file and a summary."""
    from detector.scan.inputs import InputError
    from detector.scan.local import ScanError, ScanOptions, side_paths
    from policies.loader import PolicyError

    if threads:
        import torch

        torch.set_num_threads(threads)
    opts = ScanOptions(input=input, output=str(output), input_format=input_format.value if input_format else None,
                       output_format=format.value if format else None, text_field=text_field, id_field=id_field,
                       chunk_size=chunk_size, with_text=with_text)
    try:
        opts.formats()
    except InputError as exc:
        raise fail(str(exc), 2)
    try:
        if engine == Engine.ray:
            from detector.scan.ray_engine import run_ray_scan

            if resume:
                raise fail("--resume is for the local engine; a Ray scan restarts from the beginning", 2)

            console.print(f"Ray cluster: {os.environ.get('RAY_ADDRESS') or 'a local Ray instance'}")
            result = run_ray_scan(opts, model=model, policy=policy, cascade=cascade, device=device,
                                  batch_size=batch_size, actors=actors, gpus_per_actor=gpus_per_actor,
                                  precision=precision.value)
        else:
            result = _run_local(opts, model, policy, cascade, device, batch_size, resume, prepare_ahead=prepare_ahead,
                                precision=precision.value)
    except (InputError, ScanError, PolicyError, FileNotFoundError) as exc:
        raise fail(str(exc), 2)
    except Exception:
        if engine == Engine.local and side_paths(str(output))["checkpoint"].is_file():
            err_console.print(f"[bold red]the scan crashed[/]; output is valid up to the last complete chunk. "
                              f"Resume with: {_resume_hint(input, str(output))}")
        raise
    paths = {"output": str(result.output), "errors": f"{result.errors} ({result.summary.errors} rows)"}
    if result.interrupted:
        err_console.print(f"[bold yellow]{result.interrupted}[/] after {result.summary.rows_in} rows; "
                          f"{output} is valid up to the last complete chunk. "
                          f"Resume with: {_resume_hint(input, str(output))}")
        raise typer.Exit(130)
    paths["summary"] = str(result.summary_file)
    for table in summary_table(result.summary, paths):
        console.print(table)
    if not result.summary.conserved:  # never expected: it would mean a row was lost
        raise fail(f"rows in ({result.summary.rows_in}) != scored + errors", 3)


def _run_local(opts, model, policy, cascade, device, batch_size, resume, prepare_ahead=False, precision="auto"):
    from detector.scan.local import run_scan
    from detector.scan.scorer import ChunkScorer

    scorer = ChunkScorer.load(model, policy, cascade=cascade, device=device, batch_size=batch_size,
                              precision=precision)
    # bf16 and fp32 scores differ in the last digits: a resumed scan must use the one it started with.
    identity = {"model_version": scorer.model_version, "policy_version": scorer.policy_version,
                "cascade": scorer.screen is not None, "precision": scorer.precision}
    columns = [TextColumn("[bold]scanning"), BarColumn(), TextColumn("{task.fields[rows]} rows"),
               TextColumn("{task.fields[rate]} posts/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("scan", total=None, rows=0, rate="–")

        def progress(pos, summary):
            rate = f"{summary.rows_in / max(summary.seconds, 1e-9):.0f}"
            bar.update(task, completed=pos.done, total=pos.total, rows=summary.rows_in, rate=rate)

        return run_scan(opts, scorer, identity, resume=resume, on_progress=progress, prepare_ahead=prepare_ahead)
