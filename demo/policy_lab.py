"""The "Policy lab" tab: thresholds as sliders, their consequences on a labelled set.

A policy's numeric thresholds (recruitment and youth ranges, category scores) become
"knobs". Moving one rebuilds the policy (validated like a policy file) and re-runs only
the policy decisions over the labelled set, which was scored once (``Services``). The
figures come from ``policies.testing.evaluate_policy``; exports from ``policies.exports``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from policies.exports import FORMATS, ExportError, export
from policies.loader import PolicyError, dump_policy, parse_policy
from policies.schema import Policy
from policies.testing import PolicyReport, Scored, evaluate_policy

from .services import DEFAULT_POLICY, EVAL_SPLIT, InputError, Services, read_upload, scratch_dir, shipped_policies

MAX_KNOBS = 24
UPLOADED = "uploaded file"
EXTENSIONS = {"json": ".json", "spacy": ".jsonl", "automod": ".yaml", "discord": ".json", "csv": ".csv",
              "markdown": ".md"}


@dataclass(frozen=True)
class Knob:
    key: str  # "<rule id>:<condition path>", e.g. "review-doubt:recruitment.min"
    rule: int  # index in policy.rules
    path: tuple[str, ...]  # inside the rule's `when`
    label: str
    value: float


def knobs(policy: Policy) -> list[Knob]:
    """Every numeric threshold of the rules that are evaluated (live and shadow)."""
    out: list[Knob] = []
    for i, rule in enumerate(policy.rules):
        if rule.state not in ("live", "shadow"):
            continue
        w = rule.when
        tag = f"{rule.id} ({rule.state}, {rule.action})" if rule.state == "shadow" else f"{rule.id} → {rule.action}"
        for name, rng in (("recruitment", w.recruitment), ("youth", w.youth)):
            if rng is None:
                continue
            if rng.min is not None:
                out.append(Knob(f"{rule.id}:{name}.min", i, (name, "min"), f"{tag}: {name} ≥", rng.min))
            if rng.max is not None:
                out.append(Knob(f"{rule.id}:{name}.max", i, (name, "max"), f"{tag}: {name} <", rng.max))
        for kind, cats in (("categories_any", w.categories_any), ("categories_all", w.categories_all)):
            for cat, v in cats.items():
                word = "any of" if kind == "categories_any" else "all of"
                out.append(Knob(f"{rule.id}:{kind}.{cat}", i, (kind, cat), f"{tag}: {cat} ≥ ({word})", v))
    return out


def with_thresholds(policy: Policy, values: dict[str, float]) -> Policy:
    """The policy with some knobs moved; an impossible combination raises ``InputError``."""
    by_key = {k.key: k for k in knobs(policy)}
    unknown = set(values) - set(by_key)
    if unknown:
        raise InputError(f"unknown thresholds {sorted(unknown)}; this policy has {sorted(by_key)}")
    data = dump_policy(policy)
    for key, value in values.items():
        k = by_key[key]
        node = data["rules"][k.rule]["when"]
        for part in k.path[:-1]:
            node = node[part]
        node[k.path[-1]] = round(float(value), 4)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors())
        raise InputError(f"These thresholds make an invalid policy: {msgs}") from exc


def policy_yaml(policy: Policy) -> str:
    return yaml.safe_dump(dump_policy(policy), sort_keys=False, allow_unicode=True)


def _pct(x) -> str:
    return "–" if x is None else f"{x:.1%}"


def report_tables(report: PolicyReport) -> tuple[list[list], list[list], list[list]]:
    """(overall rows, per-rule rows, changed-post rows) for the tab's tables."""
    o = report.overall
    overall = [["overall (actioned: not allow)", o["posts"], _pct(o["precision"]), _pct(o["recall"]), _pct(o["volume"]),
                _pct(o["benign_actioned"]), _pct(o["youth_recall"])]]
    rules = []
    for r in report.rules:
        if not r["evaluated"]:
            rules.append([r["id"], r["state"], r["action"], "–", "–", "–", "–", "not evaluated"])
            continue
        d = r["decides"]
        m = r["matches"]
        rules.append([r["id"], r["state"], r["action"], d["posts"], _pct(d["precision"]), _pct(d["recall"]),
                      _pct(d["volume"]), f"matches {m['posts']} (precision {_pct(m['precision'])})"])
    changes = [[p["id"], p["lang"], p["label"], p["before"], p["after"], p["text"]] for p in (report.diff or {}).get("posts", [])]
    return overall, rules, changes


def pr_figure(scored: Scored, report: PolicyReport, saved: PolicyReport | None):
    """The detector's precision-recall curve with the policy's operating point (and the saved one's)."""
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve

    labels = [r.is_recruitment for r in scored.records]
    fig = Figure(figsize=(5.5, 4), dpi=90)
    ax = fig.add_subplot()
    if scored.predictions and any(labels) and not all(labels):
        p, r, _ = precision_recall_curve(labels, [x.recruitment for x in scored.predictions])
        ax.plot(r, p, color="#64748b", lw=1.5, label="detector score alone")
    if saved is not None:
        o = saved.overall
        if o["precision"] is not None:
            ax.scatter([o["recall"]], [o["precision"]], s=70, marker="o", facecolors="none", edgecolors="#1e293b",
                       label="saved policy", zorder=3)
    o = report.overall
    if o["precision"] is not None:
        ax.scatter([o["recall"]], [o["precision"]], s=120, marker="*", color="#dc2626", label="current thresholds",
                   zorder=4)
    ax.set_xlabel("recall: share of recruitment posts actioned", fontsize=9)
    ax.set_ylabel("precision: actioned posts that are recruitment", fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"{report.posts} posts, {report.recruitment_posts} recruitment", fontsize=10)
    fig.tight_layout()
    return fig


def evaluate(services: Services, policy: Policy, baseline: Policy, source: str = EVAL_SPLIT,
             sample: int | None = None, data_file: str | None = None) -> tuple[Scored, PolicyReport, PolicyReport, list]:
    if source == UPLOADED:
        scored, errors = services.upload_scored(read_upload(data_file, "labelled file (JSONL, CSV or Parquet)"),
                                                Path(data_file).name)
    else:
        scored, errors = services.eval_scored(sample), []
    report = evaluate_policy(policy, scored, baseline=baseline, max_diff_rows=200)
    saved = evaluate_policy(baseline, scored)
    return scored, report, saved, errors


def lab_summary(report: PolicyReport, errors: list) -> str:
    o = report.overall
    d = report.diff or {}
    lines = [f"**`{report.policy}`** on {report.posts} posts ({report.recruitment_posts} recruitment): "
             f"precision **{_pct(o['precision'])}**, recall **{_pct(o['recall'])}**, "
             f"volume **{_pct(o['volume'])}** of posts actioned; benign posts actioned {_pct(o['benign_actioned'])}.",
             f"Versus the saved policy: **{d.get('changed', 0)}** posts change decision"
             + (" (" + ", ".join(f"{k}: {v}" for k, v in d.get("transitions", {}).items()) + ")" if d.get("transitions") else "")
             + "."]
    if errors:
        lines.append(f"{len(errors)} rows of the uploaded file were not usable, e.g. " + "; ".join(str(e) for e in errors[:3]))
    return "\n\n".join(lines)


def load_policy_choice(choice: str | None, upload: str | None, services: Services) -> Policy:
    if upload:
        raw = read_upload(upload, "policy (YAML)")
        try:
            return parse_policy(raw.decode("utf-8", errors="replace"), Path(upload).name)
        except PolicyError as exc:
            raise InputError(str(exc)) from exc
    return services.policy(choice or DEFAULT_POLICY)


def _parse_thresholds(text: str | dict | None) -> dict[str, float]:
    if not text:
        return {}
    if isinstance(text, dict):
        return {k: float(v) for k, v in text.items()}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"thresholds must be a JSON object of key → number: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise InputError("thresholds must be a JSON object of key → number")
    return {k: float(v) for k, v in data.items()}


def export_file(policy: Policy, fmt: str, folder: str | None = None) -> tuple[str, str]:
    """Write the export to a temporary file; returns (path, what the format could not express)."""
    try:
        ex = export(policy, fmt)
    except ExportError as exc:
        raise InputError(str(exc)) from exc
    folder = folder or scratch_dir("export-")
    path = Path(folder) / f"{policy.name}-{policy.version}-{fmt}{EXTENSIONS.get(fmt, '.txt')}"
    path.write_text(ex.text, encoding="utf-8")
    if ex.files:  # several outputs (one per Discord rule, say): hand them over as one zip
        import zipfile

        zpath = path.with_suffix(".zip")
        with zipfile.ZipFile(zpath, "w") as z:
            z.write(path, path.name)
            for name, text in ex.files.items():
                z.writestr(name, text)
        path = zpath
    note = ("Everything in the policy could be expressed." if not ex.dropped else
            "**Not expressed in this format:**\n" + "\n".join(f"- {d}" for d in ex.dropped))
    return str(path), note


def build(services: Services):
    import gradio as gr

    def as_policy(d) -> Policy:
        return Policy.model_validate(d)

    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            choice = gr.Dropdown(list(shipped_policies()), value=DEFAULT_POLICY, label="Shipped policy", elem_id="lab-policy")
            upload = gr.File(label="…or upload a policy (YAML)", file_types=[".yaml", ".yml", ".json"], type="filepath",
                             elem_id="lab-policy-upload", height=150)
            source = gr.Radio([EVAL_SPLIT, UPLOADED], value=EVAL_SPLIT, label="Labelled posts", elem_id="lab-source")
            sample = gr.Number(value=services.sample or 0, precision=0, minimum=0,
                               label="Sample of the evaluation split (0 = all 892 posts; scored once, in the background at start-up: about a minute on a laptop CPU)",
                               elem_id="lab-sample")
            data_file = gr.File(label="Labelled file (JSONL, CSV or Parquet)", file_types=[".jsonl", ".csv", ".parquet"],
                                type="filepath", elem_id="lab-data", height=150)
            evaluate_btn = gr.Button("Load and evaluate", variant="primary", elem_id="lab-evaluate")
        with gr.Column(scale=2):
            summary = gr.Markdown("Choose a policy and press **Load and evaluate**.", elem_id="lab-summary")
            overall = gr.Dataframe(headers=["", "posts", "precision", "recall", "volume", "benign actioned", "youth recall"],
                                   label="Overall", interactive=False, elem_id="lab-overall")
            plot = gr.Plot(label="Precision-recall", elem_id="lab-plot")
    gr.Markdown("#### Thresholds of the policy's rules (move one: the figures update)\n"
                "Conditions on the model's own decision (`flagged`) follow the model's threshold, which belongs to "
                "the model, not the policy; to tune them, add a `recruitment` range to the rule.")
    sliders = []
    with gr.Row(elem_id="lab-sliders"):
        for i in range(MAX_KNOBS):
            sliders.append(gr.Slider(0, 1, step=0.01, visible=False, elem_id=f"knob-{i}", min_width=260))
    rules = gr.Dataframe(headers=["rule", "state", "action", "decides", "precision", "recall", "volume", "matched"],
                         label="Per rule (posts it decides; shadow rules: posts they would decide)", interactive=False,
                         elem_id="lab-rules")
    changes = gr.Dataframe(headers=["id", "lang", "label", "saved policy", "current", "text"],
                           label="Posts whose decision changes versus the saved policy", interactive=False,
                           elem_id="lab-changes", wrap=True)
    with gr.Row():
        save_btn = gr.Button("Save thresholds (becomes the saved policy)", elem_id="lab-save")
        fmt = gr.Dropdown(list(FORMATS), value="json", label="Export format", elem_id="lab-format")
        export_btn = gr.Button("Export", elem_id="lab-export")
    with gr.Row():
        saved_file = gr.File(label="Saved policy (YAML)", interactive=False, elem_id="lab-saved-file", height=90)
        export_out = gr.File(label="Export", interactive=False, elem_id="lab-export-file", height=90)
    export_note = gr.Markdown(elem_id="lab-export-note")

    baseline = gr.State(None)  # the saved policy (dict)
    knob_state = gr.State([])  # list of Knob dicts, one per visible slider

    def on_load(c, up):
        try:
            pol = load_policy_choice(c, up, services)
        except InputError as exc:
            raise gr.Error(str(exc))
        ks = knobs(pol)[:MAX_KNOBS]
        updates = [gr.update(visible=True, label=k.label, value=k.value) for k in ks]
        updates += [gr.update(visible=False, value=0)] * (MAX_KNOBS - len(ks))
        return [dump_policy(pol), [asdict(k) for k in ks], *updates]

    def on_evaluate(base, ks, src, n, dfile, *values):
        if base is None:
            return [gr.update()] * 5
        try:
            saved_policy = as_policy(base)
            current = with_thresholds(saved_policy, {k["key"]: v for k, v in zip(ks, values)})
            scored, report, saved, errors = evaluate(services, current, saved_policy, src, n, dfile)
        except InputError as exc:
            raise gr.Error(str(exc))
        o, r, ch = report_tables(report)
        return [lab_summary(report, errors), o, pr_figure(scored, report, saved), r, ch]

    eval_inputs = [baseline, knob_state, source, sample, data_file, *sliders]
    eval_outputs = [summary, overall, plot, rules, changes]
    evaluate_btn.click(on_load, [choice, upload], [baseline, knob_state, *sliders], api_visibility="private").then(
        on_evaluate, eval_inputs, eval_outputs, api_visibility="private")
    # `input` (the person moved it), not `change`: loading a policy sets every slider, and
    # those programmatic changes would each start an evaluation with half-updated values.
    # One listener for all sliders, so "always_last" drops superseded evaluations.
    gr.on([s.input for s in sliders], on_evaluate, eval_inputs, eval_outputs, trigger_mode="always_last",
          api_visibility="private", show_progress="minimal")

    def on_save(base, ks, *values):
        if base is None:
            raise gr.Error("Load a policy first.")
        try:
            current = with_thresholds(as_policy(base), {k["key"]: v for k, v in zip(ks, values)})
        except InputError as exc:
            raise gr.Error(str(exc))
        path = Path(scratch_dir("policy-")) / f"{current.name}-{current.version}.yaml"
        path.write_text(policy_yaml(current), encoding="utf-8")
        return dump_policy(current), str(path)

    save_btn.click(on_save, [baseline, knob_state, *sliders], [baseline, saved_file], api_visibility="private").then(
        on_evaluate, eval_inputs, eval_outputs, api_visibility="private")

    def on_export(base, ks, f, *values):
        if base is None:
            raise gr.Error("Load a policy first.")
        try:
            current = with_thresholds(as_policy(base), {k["key"]: v for k, v in zip(ks, values)})
            return export_file(current, f)
        except InputError as exc:
            raise gr.Error(str(exc))

    export_btn.click(on_export, [baseline, knob_state, fmt, *sliders], [export_out, export_note], api_visibility="private")

    # --- API endpoints for scripts (gradio_client): named, with plain inputs ------------------

    def lab_knobs(policy: str) -> list[dict]:
        """The thresholds of a shipped policy: key, label and value of each."""
        try:
            return [asdict(k) for k in knobs(services.policy(policy or DEFAULT_POLICY))]
        except InputError as exc:
            raise gr.Error(str(exc))

    def lab_evaluate(policy: str, thresholds: str, sample: int) -> dict:
        """Figures for a shipped policy with some thresholds moved (JSON object key → value), on the
        evaluation split or a seeded sample of it (0 = all), and the posts that change decision."""
        try:
            saved_policy = services.policy(policy or DEFAULT_POLICY)
            current = with_thresholds(saved_policy, _parse_thresholds(thresholds))
            _, report, _, _ = evaluate(services, current, saved_policy, EVAL_SPLIT, sample)
        except InputError as exc:
            raise gr.Error(str(exc))
        return asdict(report)

    def lab_export(policy: str, thresholds: str, fmt: str) -> dict:
        """A shipped policy with some thresholds moved, exported: file name, text, what was not expressed."""
        try:
            current = with_thresholds(services.policy(policy or DEFAULT_POLICY), _parse_thresholds(thresholds))
            ex = export(current, fmt or "json")
        except (InputError, ExportError) as exc:
            raise gr.Error(str(exc))
        return {"filename": f"{current.name}-{current.version}-{ex.format}{EXTENSIONS.get(ex.format, '.txt')}",
                "text": ex.text, "files": ex.files, "dropped": ex.dropped}

    gr.api(lab_knobs, api_name="lab_knobs")
    gr.api(lab_evaluate, api_name="lab_evaluate")
    gr.api(lab_export, api_name="lab_export")
