"""``recruitwatch explain``: why one post scored as it did (score, band, decision, signals, words)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ._app import app, console, fail

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "library" / "default.yaml"


@app.command("explain")
def explain_command(
    text: str = typer.Argument(..., help="The post to explain."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the shipped model)."),
    policy: Optional[Path] = typer.Option(None, "--policy", "-p", help="Policy to decide with (default: policies/library/default.yaml)."),
    top: int = typer.Option(8, "--top", min=1, help="How many words to show each way."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Explain one post: score and band, policy decision, signals, and the words that moved the score."""
    from detector.detector import Detector
    from detector.explain import MAX_CHARS, band_of, explain
    from detector.signals import find_signals
    from policies.engine import PolicyEngine
    from policies.loader import PolicyError, load_policy

    if not text.strip():
        raise fail("the post is empty")
    if len(text) > MAX_CHARS:
        raise fail(f"the post is {len(text):,} characters; explain takes at most {MAX_CHARS:,}")
    try:
        engine = PolicyEngine(load_policy(policy or DEFAULT_POLICY))
    except PolicyError as exc:
        raise fail(str(exc))
    try:
        det = Detector.load(model)
    except FileNotFoundError as exc:
        raise fail(str(exc))
    pred = det.predict([text])[0]
    signals = find_signals(text, pred.lang)
    decision = engine.decide(text, pred, signals)
    ex = explain(det, text)
    band = band_of(pred.recruitment, det.config.threshold, det.config.review_band)
    if as_json:
        print(json.dumps({"model": det.version, "prediction": pred.model_dump(), "band": band,
                          "decision": decision.model_dump(), "signals": [asdict(s) for s in signals],
                          "explanation": ex.as_dict()}, ensure_ascii=False))
        return
    console.print(f"[bold]{det.version}[/]  language {pred.lang}")
    console.print(f"recruitment [bold]{pred.recruitment:.2f}[/] ({band}; flagged at ≥ {det.config.threshold:.2f}, "
                  f"review band {det.config.review_band[0]:.1f}-{det.config.review_band[1]:.1f})")
    console.print(f"youth targeting {pred.youth_targeting:.2f}" + (" (flagged)" if pred.youth_flagged else ""))
    cats = sorted(pred.categories.items(), key=lambda kv: -kv[1])[:3]
    console.print("categories " + ", ".join(f"{c} {v:.2f}" for c, v in cats)
                  + (f"  flagged: {', '.join(pred.flagged_categories)}" if pred.flagged_categories else ""))
    console.print(f"decision [bold]{decision.action}[/] by rule {decision.rule or '(default)'} "
                  f"of {decision.policy_version}: {decision.reason}")
    for w in decision.why:
        console.print(f"  · {w}")
    for m in decision.shadow:
        console.print(f"  shadow rule {m.rule} would {m.action}")
    if signals:
        console.print("signals " + ", ".join(f"{s.type} “{s.text}”" for s in signals))
    else:
        console.print("signals none")
    t = Table(title="words that moved the recruitment score (removing the word changes it by -delta)")
    for col in ("direction", "word", "delta", "log-odds delta"):
        t.add_column(col)
    for label, words in (("towards recruitment", ex.top(top)), ("away from recruitment", ex.top(top, positive=False))):
        for w in words:
            t.add_row(label, w.word, f"{w.delta:+.3f}", f"{w.logit_delta:+.2f}")
    console.print(t)
    if ex.grouped:
        console.print(f"(long post: words were removed in groups of {ex.group_size})")
