"""Evaluate a detector, side by side with baselines, and write JSON, Markdown and PNG reports.

Every system is scored on the same posts, with thresholds chosen on the corpus
validation split by the same rule; the baselines are trained on the same training split.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from detector.records import LabelledPost
from detector.taxonomy import CATEGORIES, HARD_NEGATIVE_KINDS

from .augment import Augmenter
from .calibrate import expected_calibration_error
from .data import TEST_ONLY_LANGS, TRAIN_LANGS
from .stats import note_kind

ROBUSTNESS_SEED = 2024


def is_hard_negative(r: LabelledPost) -> bool:
    """A benign post that shares surface cues with recruitment.

    Corpus notes name their kind; for other data, every benign genre but ``other`` counts
    (job ads, news, warnings, discussions, fiction all borrow recruiters' words).
    """
    if r.is_recruitment:
        return False
    kind = note_kind(r)
    return kind in HARD_NEGATIVE_KINDS if kind else r.genre != "other"


@dataclass
class Scored:
    recruitment: np.ndarray
    youth: np.ndarray
    categories: np.ndarray
    threshold: float
    youth_threshold: float
    category_thresholds: list[float]


class DetectorSystem:
    """The fine-tuned detector seen through the baselines' interface."""

    def __init__(self, detector):
        self.detector = detector
        self.name = f"detector ({detector.config.name})"
        c = detector.config
        from .baselines import Thresholds

        self.thresholds = Thresholds(c.threshold, c.youth_threshold, dict(c.category_thresholds))

    def scores(self, texts):
        return self.detector.scores(texts, batch_size=64)


def score(system, texts: list[str]) -> Scored:
    s = system.scores(texts)
    t = system.thresholds
    return Scored(np.asarray(s["recruitment"]), np.asarray(s["youth"]), np.asarray(s["categories"]),
                  t.recruitment, t.youth, [t.categories[c] for c in CATEGORIES])


def _binary(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = p >= threshold
    neg = ~y.astype(bool)
    return {
        "n": int(len(y)), "positives": int(y.sum()),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "fpr": float((pred & neg).sum() / max(int(neg.sum()), 1)),
        "average_precision": float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else None,
    }


def metrics(records: list[LabelledPost], s: Scored) -> dict:
    y = np.array([r.is_recruitment for r in records], dtype=int)
    out = {"recruitment": _binary(y, s.recruitment, s.threshold)}
    hard = np.array([r.is_recruitment or is_hard_negative(r) for r in records])
    out["hard_negatives"] = _binary(y[hard], s.recruitment[hard], s.threshold)
    out["hard_negatives"]["benign_posts"] = int((hard & (y == 0)).sum())
    langs = sorted({r.lang for r in records})
    lang_arr = np.array([r.lang for r in records])
    out["per_language"] = {l: _binary(y[lang_arr == l], s.recruitment[lang_arr == l], s.threshold) for l in langs}
    m = y == 1
    if m.any():
        ytrue = np.array([[c in r.categories for c in CATEGORIES] for r in records])[m]
        # A recruitment post always gets at least its best category, as Detector.predict does.
        pred = s.categories[m] >= np.array(s.category_thresholds)
        pred[np.arange(len(pred)), s.categories[m].argmax(1)] |= ~pred.any(1)
        out["category_macro_f1"] = float(f1_score(ytrue, pred, average="macro", zero_division=0))
        out["category_f1"] = {c: float(f1_score(ytrue[:, j], pred[:, j], zero_division=0)) for j, c in enumerate(CATEGORIES)}
        yy = np.array([r.youth_targeting for r in records])[m]
        out["youth_f1"] = float(f1_score(yy, s.youth[m] >= s.youth_threshold, zero_division=0))
    out["ece"] = expected_calibration_error(s.recruitment, y)
    return out


def language_groups(langs: list[str]) -> dict[str, list[str]]:
    return {"training languages": [l for l in langs if l in TRAIN_LANGS],
            "held-out languages": [l for l in langs if l not in TRAIN_LANGS]}


def evaluate(systems: list, records: list[LabelledPost], out_dir: Path, robustness: bool = True) -> dict:
    """Score every system on ``records``; write report.json, report.md and plots into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = [r.text for r in records]
    augmented = [Augmenter(seed=ROBUSTNESS_SEED).augment(t) for t in texts] if robustness else None
    report = {"posts": len(records), "languages": sorted({r.lang for r in records}),
              "test_only_languages": list(TEST_ONLY_LANGS), "systems": {}}
    scored = {}
    for system in systems:
        start = time.perf_counter()
        s = score(system, texts)
        m = metrics(records, s)
        m["seconds"] = round(time.perf_counter() - start, 1)
        langs = sorted({r.lang for r in records})
        for group, members in language_groups(langs).items():
            sel = np.array([r.lang in members for r in records])
            if sel.any():
                y = np.array([r.is_recruitment for r in records], dtype=int)[sel]
                m[group] = _binary(y, s.recruitment[sel], s.threshold)
        if robustness:
            sa = score(system, augmented)
            ma = metrics(records, sa)
            m["robustness"] = {"f1_augmented": ma["recruitment"]["f1"],
                               "f1_drop": m["recruitment"]["f1"] - ma["recruitment"]["f1"],
                               "mean_abs_score_change": float(np.mean(np.abs(sa.recruitment - s.recruitment)))}
        report["systems"][system.name] = m
        scored[system.name] = s
    report["at_baseline_recall"] = at_baseline_recall(records, scored)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    plots(records, scored, report, out_dir)
    return report


def at_baseline_recall(records: list[LabelledPost], scored: dict[str, Scored]) -> dict:
    """The first system (the detector) with its threshold moved to each other system's recall.

    Operating points differ (each is chosen on validation), so one system can have higher
    precision than another only because it flags fewer posts; at the same recall the
    comparison is like for like. This reads the detector's precision-recall curve at one
    point; it is not an operating point chosen on these posts.
    """
    y = np.array([r.is_recruitment for r in records], dtype=bool)
    hard_benign = np.array([is_hard_negative(r) for r in records])

    def figures(pred: np.ndarray) -> dict:
        return {"recall": float(pred[y].mean()), "precision": float(precision_score(y, pred, zero_division=0)),
                "fpr": float(pred[~y].mean()), "hard_negative_fpr": float(pred[hard_benign].mean())}

    names = list(scored)
    first, out = scored[names[0]], {}
    for name in names[1:]:
        b = figures(scored[name].recruitment >= scored[name].threshold)
        # The highest threshold at which the detector reaches at least the baseline's recall.
        candidates = [t for t in np.unique(first.recruitment) if (first.recruitment[y] >= t).mean() >= b["recall"]]
        if candidates and b["recall"] > 0:
            out[name] = {"baseline": b, "detector": figures(first.recruitment >= max(candidates))}
    return out


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown(report: dict) -> str:
    names = list(report["systems"])
    lines = ["# Evaluation report", "", f"{report['posts']} posts; languages: {', '.join(report['languages'])}.", "",
             "## Headline figures", "",
             "| system | precision | recall | F1 | FPR (benign) | hard-neg F1 | hard-neg FPR | category macro-F1 | youth F1 | ECE | F1 after augmenter | F1 drop |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        m = report["systems"][n]
        r, h, rob = m["recruitment"], m["hard_negatives"], m.get("robustness", {})
        lines.append(f"| {n} | {_f(r['precision'])} | {_f(r['recall'])} | {_f(r['f1'])} | {_f(r['fpr'])} | "
                     f"{_f(h['f1'])} | {_f(h['fpr'])} | {_f(m.get('category_macro_f1'))} | {_f(m.get('youth_f1'))} | "
                     f"{_f(m['ece'])} | {_f(rob.get('f1_augmented'))} | {_f(rob.get('f1_drop'))} |")
    lines += ["", "## Per language (recruitment F1 / FPR on benign)", "",
              "| language | posts | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    first = report["systems"][names[0]]
    for lang, v in first["per_language"].items():
        tag = " (held out)" if lang not in TRAIN_LANGS else ""
        cells = [f"{_f(report['systems'][n]['per_language'][lang]['f1'])} / {_f(report['systems'][n]['per_language'][lang]['fpr'])}" for n in names]
        lines.append(f"| {lang}{tag} | {v['n']} | " + " | ".join(cells) + " |")
    for group in ("training languages", "held-out languages"):
        if group in first:
            cells = [f"{_f(report['systems'][n][group]['f1'])} / {_f(report['systems'][n][group]['fpr'])}" for n in names]
            lines.append(f"| **{group}** | {first[group]['n']} | " + " | ".join(cells) + " |")
    matched = report.get("at_baseline_recall") or {}
    if matched:
        lines += ["", f"## At each baseline's recall ({names[0]}, threshold moved on these posts)", "",
                  "Each system's operating point is chosen on validation, so a system can look more precise "
                  "only because it flags less. Here the detector's threshold is moved to match each baseline's "
                  "recall (a point on its precision-recall curve, not an operating point).", "",
                  "| baseline | recall | precision (baseline / detector) | FPR (baseline / detector) | "
                  "hard-neg FPR (baseline / detector) |", "|---|---|---|---|---|"]
        for n, v in matched.items():
            b, d = v["baseline"], v["detector"]
            lines.append(f"| {n} | {_f(b['recall'])} | {_f(b['precision'])} / {_f(d['precision'])} | "
                         f"{_f(b['fpr'])} / {_f(d['fpr'])} | {_f(b['hard_negative_fpr'])} / {_f(d['hard_negative_fpr'])} |")
    lines += ["", "Hard negatives: benign posts that share surface cues with recruitment (legitimate jobs, "
              "legal side gigs, news, prevention messages, discussions, fiction).", "",
              "![precision-recall](pr_curves.png)", "", "![reliability](reliability.png)", "",
              "![per language](per_language.png)", ""]
    return "\n".join(lines)


def plots(records: list[LabelledPost], scored: dict[str, Scored], report: dict, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    y = np.array([r.is_recruitment for r in records], dtype=int)
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, s in scored.items():
        p, r, _ = precision_recall_curve(y, s.recruitment)
        ax.plot(r, p, label=name)
        pred = s.recruitment >= s.threshold
        ax.scatter([recall_score(y, pred, zero_division=0)], [precision_score(y, pred, zero_division=0)], s=25)
    ax.set(xlabel="recall", ylabel="precision", title="Recruitment: precision-recall (dots: operating points)",
           xlim=(0, 1.01), ylim=(0, 1.01))
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "pr_curves.png", dpi=110)
    plt.close(fig)

    name = next(iter(scored))
    s = scored[name]
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(s.recruitment, edges[1:-1]), 0, 9)
    conf = [s.recruitment[idx == b].mean() if (idx == b).any() else np.nan for b in range(10)]
    acc = [y[idx == b].mean() if (idx == b).any() else np.nan for b in range(10)]
    counts = [(idx == b).sum() for b in range(10)]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(conf, acc, "o-", label=name)
    for c, a, n in zip(conf, acc, counts):
        if n:
            ax.annotate(str(n), (c, a), fontsize=7, textcoords="offset points", xytext=(3, -9))
    ax.set(xlabel="predicted probability", ylabel="share that is recruitment",
           title=f"Reliability (ECE {report['systems'][name]['ece']:.3f})", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "reliability.png", dpi=110)
    plt.close(fig)

    langs = list(report["systems"][name]["per_language"])
    fig, ax = plt.subplots(figsize=(max(6, len(langs) * 0.9), 4.5))
    width = 0.8 / len(scored)
    for k, n in enumerate(scored):
        vals = [report["systems"][n]["per_language"][l]["f1"] for l in langs]
        ax.bar(np.arange(len(langs)) + k * width, vals, width, label=n)
    ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2)
    ax.set_xticklabels([l + ("*" if l not in TRAIN_LANGS else "") for l in langs])
    ax.set(ylabel="recruitment F1", ylim=(0, 1.05), title="Recruitment F1 per language (* held out)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_dir / "per_language.png", dpi=110)
    plt.close(fig)
