"""The "Try a post" tab: score, band, categories, youth targeting, decision, signals, words."""

from __future__ import annotations

from detector.explain import band_of, explain
from detector.signals import SIGNAL_TYPES, Signal, find_signals
from policies.engine import PolicyEngine

from .examples import example_rows
from .services import DEFAULT_POLICY, InputError, Services, check_text, shipped_policies

ACTION_ICON = {"allow": "✅", "label": "🏷️", "review": "👀", "escalate": "🚨", "remove": "⛔"}


def signal_segments(text: str, signals: list[Signal]) -> list[tuple[str, str | None]]:
    """The whole post as (piece, signal type or None); overlapping signals keep the earlier, longer one."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for s in sorted(signals, key=lambda s: (s.start, -(s.end - s.start))):
        if s.start < pos:
            continue
        if s.start > pos:
            out.append((text[pos:s.start], None))
        out.append((text[s.start:s.end], s.type))
        pos = s.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def word_segments(text: str, words) -> list[tuple[str, float | None]]:
    """The post as (piece, score in [-1, 1]): red pushed towards recruitment, blue away."""
    scale = max((abs(w.logit_delta) for w in words), default=0.0) or 1.0
    out: list[tuple[str, float | None]] = []
    pos = 0
    for w in words:
        if w.start > pos:
            out.append((text[pos:w.start], None))
        out.append((text[w.start:w.end], round(w.logit_delta / scale, 3)))
        pos = w.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def analyse(services: Services, text: str, policy_name: str = DEFAULT_POLICY) -> dict:
    """Everything the tab shows about one post, as plain data (also the API's answer)."""
    text = check_text(text)
    det = services.detector()
    policy = services.policy(policy_name or DEFAULT_POLICY)
    pred = det.predict([text])[0]
    signals = find_signals(text, pred.lang)
    decision = PolicyEngine(policy).decide(text, pred, signals)
    ex = explain(det, text)
    c = det.config
    return {
        "model": det.version,
        "lang": pred.lang,
        "recruitment": pred.recruitment,
        "band": band_of(pred.recruitment, c.threshold, c.review_band),
        "flagged": pred.flagged,
        "threshold": c.threshold,
        "review_band": list(c.review_band),
        "categories": pred.categories,
        "flagged_categories": pred.flagged_categories,
        "category_thresholds": dict(c.category_thresholds),
        "youth_targeting": pred.youth_targeting,
        "youth_flagged": pred.youth_flagged,
        "decision": decision.model_dump(),
        "signals": [{"type": s.type, "id": s.id, "text": s.text, "start": s.start, "end": s.end} for s in signals],
        "words": [{"word": w.word, "start": w.start, "end": w.end, "delta": w.delta, "logit_delta": w.logit_delta}
                  for w in ex.words],
        "top_up": [w.word for w in ex.top(5)],
        "top_down": [w.word for w in ex.top(5, positive=False)],
        "grouped": ex.grouped,
        "_explanation": ex,
        "_signals": signals,
    }


def score_markdown(r: dict) -> str:
    lo, hi = r["review_band"]
    youth = "yes" if r["youth_flagged"] else "no"
    return (f"### Recruitment score **{r['recruitment']:.2f}** — {r['band']}\n"
            f"Calibrated: of posts scored like this, about {r['recruitment']:.0%} are recruitment. "
            f"Flagged at ≥ {r['threshold']:.2f}; {lo:.1f}–{hi:.1f} is the uncertain band that goes to people.\n\n"
            + (f"**Flagged categories** {', '.join(r['flagged_categories'])} · " if r["flagged_categories"] else "")
            + f"**Youth targeting** {r['youth_targeting']:.2f} (aimed at young people: {youth}) · "
            f"**language** `{r['lang']}` · model `{r['model']}`")


def decision_markdown(r: dict) -> str:
    d = r["decision"]
    icon = ACTION_ICON.get(d["action"], "")
    lines = [f"### Decision: {icon} **{d['action'].upper()}**",
             f"Rule **`{d['rule'] or 'default (no rule matched)'}`** of `{d['policy_version']}`",
             f"> {d['reason']}"]
    if d["why"]:
        lines.append("\nWhy this rule fired:")
        lines += [f"- {w}" for w in d["why"]]
    if d["shadow"]:
        lines.append("\nShadow rules (reported, never act): " + ", ".join(f"`{m['rule']}` → {m['action']}" for m in d["shadow"]))
    return "\n".join(lines)


def category_figure(r: dict):
    """Horizontal bars, one per category, with the model's threshold for each; flagged ones in red."""
    from matplotlib.figure import Figure

    cats = list(r["categories"].items())[::-1]
    thresholds = r.get("category_thresholds", {})
    fig = Figure(figsize=(5.5, 3.2), dpi=90)
    ax = fig.add_subplot()
    names = [c for c, _ in cats]
    colors = ["#dc2626" if c in r["flagged_categories"] else "#94a3b8" for c in names]
    ax.barh(names, [v for _, v in cats], color=colors)
    for i, c in enumerate(names):
        if c in thresholds:
            ax.plot([thresholds[c]] * 2, [i - 0.4, i + 0.4], color="#1e293b", lw=1.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (bar: this post; tick: the category's threshold; red: flagged)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_title("Categories (scores assume the post is recruitment)", fontsize=9)
    fig.tight_layout()
    return fig


def words_table(r: dict) -> list[list]:
    ex = r["_explanation"]
    rows = [["towards recruitment", w.word, round(w.delta, 4), round(w.logit_delta, 2)] for w in ex.top(5)]
    rows += [["away from recruitment", w.word, round(w.delta, 4), round(w.logit_delta, 2)] for w in ex.top(5, positive=False)]
    return rows


def build(services: Services):
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(label="Post (any language)", lines=4, elem_id="post-text",
                              placeholder="Paste a post here, or pick an example below")
            with gr.Row():
                policy = gr.Dropdown(list(shipped_policies()), value=DEFAULT_POLICY, label="Policy", elem_id="try-policy")
                run = gr.Button("Analyse", variant="primary", elem_id="analyse-btn")
            gr.Examples(example_rows(), inputs=[text], label="Examples (synthetic; includes hard negatives)",
                        examples_per_page=16)
        with gr.Column(scale=2):
            score = gr.Markdown(elem_id="score")
            decision = gr.Markdown(elem_id="decision")
    with gr.Row():
        with gr.Column():
            signals = gr.HighlightedText(label="Signals in the text", show_legend=False, elem_id="signals",
                                         color_map=_signal_colors())
            words = gr.HighlightedText(label="Words that moved the score (red: towards recruitment, blue: away)",
                                       elem_id="words", show_inline_category=False)
            table = gr.Dataframe(headers=["direction", "word", "delta", "log-odds delta"], label="Top words",
                                 elem_id="words-table", interactive=False)
        with gr.Column():
            cats = gr.Plot(label="Category scores", elem_id="categories")

    def on_analyse(t, p):
        try:
            r = analyse(services, t, p)
        except InputError as exc:
            raise gr.Error(str(exc))
        return (score_markdown(r), decision_markdown(r), signal_segments(t, r["_signals"]),
                word_segments(t, r["_explanation"].words), words_table(r), category_figure(r))

    outputs = [score, decision, signals, words, table, cats]
    run.click(on_analyse, [text, policy], outputs, api_name="analyse")
    text.submit(on_analyse, [text, policy], outputs, api_visibility="private")

    def analyse_json(text: str, policy: str) -> dict:
        """The same analysis as one JSON object: scores, band, decision, signals and word attributions."""
        try:
            r = analyse(services, text, policy)
        except InputError as exc:
            raise gr.Error(str(exc))
        return {k: v for k, v in r.items() if not k.startswith("_")}

    gr.api(analyse_json, api_name="analyse_json")


def _signal_colors() -> dict[str, str]:
    palette = ["#f59e0b", "#3b82f6", "#8b5cf6", "#ef4444", "#ec4899", "#10b981", "#14b8a6", "#dc2626",
               "#6b7280", "#0ea5e9", "#a855f7"]
    return {t: palette[i % len(palette)] for i, t in enumerate(SIGNAL_TYPES)}
