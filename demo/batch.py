"""The "Batch" tab: a CSV or JSON Lines file of posts in, a table of decisions out.

The file is read in memory (never kept), bounded in bytes and rows; every row ends up
either in the results or in the errors table with its line and the reason.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from detector.explain import band_of
from detector.signals import find_signals
from policies.engine import PolicyEngine

from .services import DEFAULT_POLICY, MAX_ROWS, MAX_TEXT_CHARS, InputError, Services, read_upload, scratch_dir, shipped_policies

RESULT_COLUMNS = ["line", "id", "lang", "recruitment", "band", "categories", "youth_targeting", "action", "rule",
                  "reason", "signals", "text"]
ACTIONS = ["allow", "label", "review", "escalate", "remove"]


def parse_posts(data: bytes, name: str) -> tuple[list[dict], list[dict]]:
    """(posts, errors) from CSV or JSON Lines bytes; a post is {line, id, text, lang}."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError(f"{Path(name).name}: upload a .csv or .jsonl file (one post per row, with a 'text' column).")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{Path(name).name} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from exc
    rows: list[tuple[int, dict | str]] = []
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise InputError(f"{Path(name).name}: the CSV needs a 'text' column (found: {', '.join(reader.fieldnames or []) or 'none'}).")
        try:
            for row in reader:
                rows.append((reader.line_num, row))
                if len(rows) > MAX_ROWS:
                    break
        except csv.Error as exc:
            rows.append((reader.line_num + 1, f"unreadable CSV record ({exc}); this and later rows were not read"))
    else:
        for lineno, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append((lineno, f"bad JSON: {exc.msg} at column {exc.colno}"))
                continue
            rows.append((lineno, obj if isinstance(obj, dict) else f"expected a JSON object, got {type(obj).__name__}"))
            if len(rows) > MAX_ROWS:
                break
    if len(rows) > MAX_ROWS:
        raise InputError(f"{Path(name).name} has more than {MAX_ROWS:,} rows; the demo takes at most {MAX_ROWS:,}. "
                         "Split the file, or use `recruitwatch predict` for large files.")
    posts, errors = [], []
    for line, row in rows:
        if isinstance(row, str):
            errors.append({"line": line, "reason": row})
            continue
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            errors.append({"line": line, "reason": "no text (the 'text' field is missing or empty)"})
            continue
        if len(text) > MAX_TEXT_CHARS:
            errors.append({"line": line, "reason": f"text is {len(text):,} characters; at most {MAX_TEXT_CHARS:,}"})
            continue
        pid = row.get("id")
        posts.append({"line": line, "id": str(pid) if pid not in (None, "") else f"line-{line}", "text": text})
    if not posts and not errors:
        raise InputError(f"{Path(name).name} has no rows.")
    return posts, errors


def score_batch(services: Services, posts: list[dict], policy_name: str = DEFAULT_POLICY) -> list[dict]:
    if not posts:
        return []
    det = services.detector()
    engine = PolicyEngine(services.policy(policy_name or DEFAULT_POLICY))
    texts = [p["text"] for p in posts]
    preds = det.predict(texts)
    c = det.config
    out = []
    for post, pred in zip(posts, preds):
        signals = find_signals(post["text"], pred.lang)
        d = engine.decide(post["text"], pred, signals)
        out.append({"line": post["line"], "id": post["id"], "lang": pred.lang, "recruitment": round(pred.recruitment, 3),
                    "band": band_of(pred.recruitment, c.threshold, c.review_band),
                    "categories": ", ".join(pred.flagged_categories), "youth_targeting": round(pred.youth_targeting, 3),
                    "action": d.action, "rule": d.rule or "(default)", "reason": d.reason,
                    "signals": ", ".join(sorted({s.type for s in signals})), "text": post["text"]})
    return out


def filter_results(results: list[dict], actions: list[str] | None, min_score: float = 0.0, search: str = "") -> list[dict]:
    search = (search or "").strip().lower()
    return [r for r in results
            if (not actions or r["action"] in actions) and r["recruitment"] >= (min_score or 0)
            and (not search or search in r["text"].lower() or search in r["id"].lower())]


def write_csv(results: list[dict], folder: str | None = None) -> str:
    folder = folder or scratch_dir("batch-")
    path = Path(folder) / "recruitwatch-decisions.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        w.writeheader()
        w.writerows(results)
    return str(path)


def summary_markdown(results: list[dict], errors: list[dict], shown: int | None = None) -> str:
    counts = Counter(r["action"] for r in results)
    line = (f"**{len(results)}** posts scored, **{len(errors)}** rows with errors. Decisions: "
            + (", ".join(f"{a} {counts[a]}" for a in ACTIONS if counts[a]) or "none"))
    if shown is not None and shown != len(results):
        line += f". Showing {shown} after filters."
    return line


def _rows(results: list[dict]) -> list[list]:
    return [[r[c] if c != "text" else r["text"][:200] for c in RESULT_COLUMNS] for r in results]


def build(services: Services):
    import gradio as gr

    with gr.Row():
        upload = gr.File(label=f"CSV or JSONL of posts ('text' column, optional 'id'; up to {MAX_ROWS:,} rows, 5 MB)",
                         file_types=[".csv", ".jsonl"], type="filepath", elem_id="batch-file", height=130)
        with gr.Column():
            policy = gr.Dropdown(list(shipped_policies()), value=DEFAULT_POLICY, label="Policy", elem_id="batch-policy")
            run = gr.Button("Score the file", variant="primary", elem_id="batch-run")
    summary = gr.Markdown(elem_id="batch-summary")
    with gr.Row():
        actions = gr.CheckboxGroup(ACTIONS, value=[], label="Show actions (none ticked: all)", elem_id="batch-actions")
        min_score = gr.Slider(0, 1, value=0, step=0.05, label="Minimum recruitment score", elem_id="batch-min")
        search = gr.Textbox(label="Text or id contains", elem_id="batch-search")
    table = gr.Dataframe(headers=RESULT_COLUMNS, label="Decisions", interactive=False, wrap=True, elem_id="batch-table")
    download = gr.File(label="Results (CSV; the rows shown)", interactive=False, elem_id="batch-download",
                       height=90)
    errors_table = gr.Dataframe(headers=["line", "reason"], label="Rows not scored", interactive=False,
                                elem_id="batch-errors")
    results_state = gr.State([])
    errors_state = gr.State([])

    def on_run(path, pol, acts, mn, q):
        try:
            posts, errors = parse_posts(read_upload(path, "CSV or JSONL file"), Path(path or "x").name)
            results = score_batch(services, posts, pol)
        except InputError as exc:
            raise gr.Error(str(exc))
        shown = filter_results(results, acts, mn, q)
        return (results, errors, summary_markdown(results, errors, len(shown)), _rows(shown), write_csv(shown),
                [[e["line"], e["reason"]] for e in errors])

    run.click(on_run, [upload, policy, actions, min_score, search],
              [results_state, errors_state, summary, table, download, errors_table], api_name="batch")

    def on_filter(results, errors, acts, mn, q):
        shown = filter_results(results, acts, mn, q)
        return summary_markdown(results, errors, len(shown)), _rows(shown), write_csv(shown) if results else None

    actions.change(on_filter, [results_state, errors_state, actions, min_score, search], [summary, table, download],
                   api_visibility="private")
    search.submit(on_filter, [results_state, errors_state, actions, min_score, search], [summary, table, download],
                  api_visibility="private")
    min_score.release(on_filter, [results_state, errors_state, actions, min_score, search], [summary, table, download],
                      api_visibility="private")
