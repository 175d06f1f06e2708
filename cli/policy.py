"""``recruitwatch policy validate|test|export``: check, measure and export policy rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, fail

policy_app = typer.Typer(help="Validate, test and export policy rules.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


def _load(path: Path):
    from policies.loader import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        for p in exc.problems:
            console.print(f"[red]✗[/] {p}")
        raise typer.Exit(1)


@policy_app.command("validate")
def validate_command(file: Path = typer.Argument(..., help="Policy YAML (or JSON).")) -> None:
    """Check a policy: schema, known signals and categories, regexes, rules that can never fire."""
    policy = _load(file)
    states = {s: sum(r.state == s for r in policy.rules) for s in ("live", "shadow", "draft", "archived")}
    console.print(f"[green]✓[/] {file}: {policy.name} {policy.version}, {len(policy.rules)} rules "
                  f"({', '.join(f'{n} {s}' for s, n in states.items() if n)}); "
                  f"{'uses model scores' if policy.uses_model else 'keywords and signals only'}")


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


@policy_app.command("test")
def test_command(
    file: Path = typer.Argument(..., help="Policy to test."),
    data: Path = typer.Option(..., "--data", "-d", help="Labelled posts (JSONL/CSV/Parquet)."),
    against: Optional[Path] = typer.Option(None, "--against", help="Another version of the policy: list posts whose decision changes."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the shipped model)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the report as JSON here."),
) -> None:
    """Precision, recall and volume per rule and overall, per language; shadow rules beside live ones."""
    from policies.testing import evaluate_policy, score_posts
    from training.data import read_labelled

    policy = _load(file)
    baseline = _load(against) if against else None
    records, bad = read_labelled(data)
    for e in bad:
        console.print(f"[yellow]skipped[/] {e}")
    if not records:
        raise fail(f"{data}: no valid labelled posts")
    detector = None
    if policy.uses_model or (baseline and baseline.uses_model):
        from detector.detector import Detector

        try:
            detector = Detector.load(model)
        except FileNotFoundError as exc:
            raise fail(str(exc))
    with console.status(f"scoring {len(records)} posts..."):
        scored = score_posts(records, detector)
    report = evaluate_policy(policy, scored, baseline)

    t = Table(title=f"{report.policy} on {report.posts} posts ({report.recruitment_posts} recruitment)")
    for col in ("rule", "state", "action", "matches", "precision", "recall", "volume", "decides"):
        t.add_column(col, justify="right" if col in ("matches", "precision", "recall", "volume", "decides") else "left")
    for r in report.rules:
        if not r["evaluated"]:
            t.add_row(r["id"], r["state"], r["action"], "not evaluated", "", "", "", "")
            continue
        m = r["matches"]
        style = "dim" if r["state"] == "shadow" else None
        t.add_row(r["id"], r["state"], r["action"], str(m["posts"]), _pct(m["precision"]), _pct(m["recall"]),
                  _pct(m["volume"]), str(r["decides"]["posts"]), style=style)
    o = report.overall
    t.add_row("[bold]overall (actioned)[/]", "", "", str(o["posts"]), _pct(o["precision"]), _pct(o["recall"]),
              _pct(o["volume"]), "")
    console.print(t)
    console.print(f"benign posts actioned: [bold]{_pct(o['benign_actioned'])}[/]; recall on youth-targeting "
                  f"recruitment posts: [bold]{_pct(o['youth_recall'])}[/] (of {o['youth_posts']}); "
                  f"actions: {report.actions}")
    lt = Table(title="Per language")
    for col in ("lang", "posts actioned", "precision", "recall", "volume", "benign actioned"):
        lt.add_column(col, justify="right")
    for lang, f in report.per_language.items():
        lt.add_row(lang, str(f["posts"]), _pct(f["precision"]), _pct(f["recall"]), _pct(f["volume"]), _pct(f["benign_actioned"]))
    console.print(lt)
    if report.diff:
        d = report.diff
        console.print(f"against {d['against']}: {d['changed']} posts change rule, {d['action_changed']} change action "
                      f"{d['transitions']}")
        dt = Table(title="Posts whose decision changes (first 50)")
        for col in ("id", "lang", "label", "before", "after", "text"):
            dt.add_column(col)
        for p in d["posts"]:
            dt.add_row(p["id"], p["lang"], p["label"], p["before"], p["after"], p["text"][:60])
        console.print(dt)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"report written to {output}")


@policy_app.command("export")
def export_command(
    file: Path = typer.Argument(...),
    format: str = typer.Option("json", "--format", "-f", help="json, spacy, automod, discord, csv or markdown."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here (default: print)."),
    figures: Optional[Path] = typer.Option(None, help="A `policy test -o` report to include (json, markdown)."),
) -> None:
    """Export a policy for another moderation system; say what the format cannot express."""
    from policies.exports import ExportError, export

    policy = _load(file)
    measured = json.loads(figures.read_text(encoding="utf-8")) if figures else None
    try:
        result = export(policy, format, measured)
    except ExportError as exc:
        raise fail(str(exc))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.text, encoding="utf-8")
        console.print(f"wrote {output} ({format})")
    else:
        print(result.text, end="")
    for d in result.dropped:
        console.print(f"[yellow]not exported:[/] {d}", highlight=False) if output else typer.echo(f"not exported: {d}", err=True)
