"""Scan throughput, side by side: ours vs a plain `transformers` pipeline vs an XLM-R-base model.

    .venv/bin/python bench/scan_bench.py [--posts 3000] [--baseline-posts 300] [--out bench/results/scan.json]

Each system runs in its own process (so peak memory is its own) on the same stream:
(a) ours: `recruitwatch scan`'s chunk scorer (cascade of lexical screen, probes with early exits
    and transformer; bf16 where the CPU has it; length-sorted batches; inference mode) at 1 and
    2 threads, and at 2 threads also with the next chunk prepared in a thread
    (--prepare-ahead), without the cascade and in fp32, after a warm-up on other posts;
(b) the same fine-tuned encoder exported as a Hugging Face `BertForSequenceClassification`
    and called through `pipeline("text-classification")` one post at a time, as a user would;
(c) a Detoxify-class model: XLM-R base architecture (random weights: timing only), batches of
    the same size in stream order, padded to the longest post, as Detoxify's predict does.
Three streams: "platform" (95 % ordinary posts, the rest hard negatives and recruitment, mixed
languages and lengths, a fifth of them in the test-only languages), "platform-seen" (the
same without the test-only languages) and "suspicious" (only hard negatives and recruitment). Figures are
ratios within one run, because machines are noisy. The cascade's recall on the corpus test
split and on the shared development set (when present) is reported next to the
transformer's alone (``--recall-only`` reports just that).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
BATCH = 64
STREAMS = ("platform", "platform-seen", "suspicious")


def stream(kind: str, n: int, seed: int = 7) -> list[str]:
    """Posts the screen and the transformer never trained on: held-out ordinary posts and the corpus test split.

    "platform-seen" is the platform stream without the test-only languages (Polish, Danish),
    whose posts the cascade's cheap stages cannot clear as often.
    """
    from training.data import TRAIN_LANGS, read_corpus, read_splits
    from training.screen import read_ordinary

    rng = random.Random(seed)
    splits = read_splits()
    test = [r for r in read_corpus() if splits.get(r.id) == "test"]
    if kind == "platform-seen":
        test = [r for r in test if r.lang in TRAIN_LANGS]
    suspicious = [r.text for r in test if not r.note.startswith("ordinary")]
    ordinary = [r.text for r in read_ordinary("held_out", TRAIN_LANGS if kind == "platform-seen" else None)]
    ordinary += [r.text for r in test if r.note.startswith("ordinary")]
    if kind == "suspicious":
        return [rng.choice(suspicious) for _ in range(n)]
    return [rng.choice(ordinary) if rng.random() < 0.95 else rng.choice(suspicious) for _ in range(n)]


def peak_rss_mib() -> float:
    """This process's own peak (VmHWM): ru_maxrss would include the parent it was forked from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_hf(folder: Path) -> None:
    """Our fine-tuned encoder (adapters merged) as a plain sequence classifier a pipeline can load."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from detector import Detector

    det = Detector.load()
    enc = det.net.encoder
    cfg = BertConfig(**{**enc.config.to_dict(), "num_labels": det.net.heads.out_features})
    model = BertForSequenceClassification(cfg)
    model.bert.load_state_dict(enc.state_dict(), strict=False)
    with torch.no_grad():
        model.classifier.weight.copy_(det.net.heads.weight)
        model.classifier.bias.copy_(det.net.heads.bias)
    model.save_pretrained(folder)
    det.net.tokenizer.save_pretrained(folder)


def run_system(system: str, kind: str, n: int, threads: int, hf_dir: str | None) -> dict:
    import torch

    torch.set_num_threads(threads)
    texts = stream(kind, n)
    if system in ("ours", "ours-no-cascade", "ours-fp32", "ours-prepare-ahead"):
        from detector.scan.records import InputRow
        from detector.scan.scorer import ChunkScorer, score_ahead

        scorer = ChunkScorer.load(cascade=system != "ours-no-cascade", batch_size=BATCH,
                                  precision="fp32" if system == "ours-fp32" else "auto")
        # Warm-up on other posts of the same kind: spaCy's per-language tokenizers and the
        # matchers' word caches fill in the first few hundred posts of a scan of millions;
        # timing them would measure start-up, not throughput.
        scorer.score([InputRow(1, "w", t) for t in stream(kind, 512, seed=99)])
        start = time.perf_counter()
        stages = {"model": 0, "probe": 0, "screen": 0}
        chunks = [[InputRow(i + j, str(i + j), t) for j, t in enumerate(texts[i : i + 1024])]
                  for i in range(0, len(texts), 1024)]
        # As `recruitwatch scan` runs: the next chunk prepared in a thread only with --prepare-ahead.
        for _, out in score_ahead(scorer, chunks, lambda c: c, ahead=system == "ours-prepare-ahead"):
            for r in out.records:
                stages[r.stage] += 1
        seconds = time.perf_counter() - start
        extra = {"to_transformer": stages["model"] / len(texts), "to_probe": (stages["model"] + stages["probe"]) / len(texts),
                 "precision": scorer.precision}
    elif system == "pipeline":
        from transformers import pipeline

        clf = pipeline("text-classification", model=hf_dir, device="cpu")
        clf(texts[0])
        start = time.perf_counter()
        for t in texts:
            clf(t, truncation=True)
        seconds = time.perf_counter() - start
        extra = {}
    elif system == "xlmr-base":
        from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

        from detector.backbone import load_backbone

        _, tok = load_backbone()  # multilingual-e5 uses XLM-R's own sentencepiece vocabulary
        torch.manual_seed(0)
        model = XLMRobertaForSequenceClassification(XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, num_labels=6)).eval()
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(texts), BATCH):
                enc = tok(texts[i : i + BATCH], padding=True, truncation=True, max_length=512, return_tensors="pt")
                torch.sigmoid(model(**enc).logits)
        seconds = time.perf_counter() - start
        extra = {}
    else:
        raise SystemExit(f"unknown system {system}")
    return {"system": system, "stream": kind, "threads": threads, "posts": len(texts),
            "posts_per_s": len(texts) / seconds, "peak_rss_mib": peak_rss_mib(), **extra}


def cascade_recall(recs) -> dict:
    """Recall and false-positive rate of the cascade and of the transformer alone on labelled posts,
    and the posts the transformer flags that the cascade lets through, by language."""
    import numpy as np

    from detector.scan.records import InputRow
    from detector.scan.scorer import ChunkScorer

    y = np.array([r.label == "recruitment" for r in recs])
    out, flagged = {}, {}
    # The reference is the transformer alone in fp32 (the precision of the model card's
    # figures); the cascade runs as a scan does, in the scan's default precision.
    for name, cascade, precision in (("transformer alone", False, "fp32"), ("cascade", True, "auto")):
        scorer = ChunkScorer.load(cascade=cascade, precision=precision)
        scored = scorer.score([InputRow(i, r.id, r.text) for i, r in enumerate(recs)])
        flagged[name] = np.array([r.flagged for r in scored.records])
        out[name] = {"recall": float(flagged[name][y].mean()), "fpr": float(flagged[name][~y].mean()),
                     "to_transformer": float(np.mean([r.stage == "model" for r in scored.records])),
                     "precision": scorer.precision}
    out["recall_drop_points"] = 100 * (out["transformer alone"]["recall"] - out["cascade"]["recall"])
    lost = flagged["transformer alone"] & ~flagged["cascade"]
    out["flagged_alone"] = int(flagged["transformer alone"].sum())
    out["flagged_alone_not_by_cascade"] = {lang: int(sum(lost[i] for i, r in enumerate(recs) if r.lang == lang))
                                           for lang in sorted({r.lang for r in recs})}
    return out


def cascade_on_dev_and_test() -> dict:
    from training.data import read_corpus, read_labelled, read_splits

    splits = read_splits()
    out = {"cascade_on_test_split": cascade_recall([r for r in read_corpus() if splits.get(r.id) == "test"])}
    out["cascade_on_dev"] = cascade_recall(read_labelled(DEV)[0]) if DEV.is_file() else None
    return out


def child(args) -> None:
    print(json.dumps(run_system(args.system, args.stream, args.n, args.threads, args.hf_dir)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=3000, help="posts per run of ours")
    ap.add_argument("--baseline-posts", type=int, default=300, help="posts per run of the slow baselines")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scan.json")
    ap.add_argument("--system"), ap.add_argument("--stream"), ap.add_argument("--n", type=int)
    ap.add_argument("--threads", type=int, default=2), ap.add_argument("--hf-dir")
    ap.add_argument("--recall-only", action="store_true", help="only the cascade's recall figures (no timing)")
    args = ap.parse_args()
    if args.system:
        return child(args)
    if args.recall_only:
        return print(json.dumps(cascade_on_dev_and_test(), indent=2))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        export_hf(Path(tmp))
        plan = [("ours", s, args.posts, t) for s in STREAMS for t in (1, 2)]
        plan += [(v, s, args.posts, 2) for v in ("ours-prepare-ahead", "ours-fp32") for s in STREAMS]
        plan += [("ours-no-cascade", s, args.baseline_posts * 2, 2) for s in STREAMS]
        plan += [(b, s, args.baseline_posts, t) for b in ("pipeline", "xlmr-base") for s in STREAMS for t in (1, 2)]
        for system, kind, n, threads in plan:
            cmd = [sys.executable, __file__, "--system", system, "--stream", kind, "--n", str(n),
                   "--threads", str(threads), "--hf-dir", tmp]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if res.returncode != 0:
                raise SystemExit(f"{system} failed:\n{res.stderr[-3000:]}")
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
            r = runs[-1]
            print(f"{system:16} {kind:10} {threads} threads: {r['posts_per_s']:8.1f} posts/s, "
                  f"peak {r['peak_rss_mib']:.0f} MiB" + (f", {r['to_transformer']:.0%} to the transformer"
                                                          if "to_transformer" in r else ""), flush=True)

    def rate(system, kind, threads=2):
        return next(r["posts_per_s"] for r in runs if r["system"] == system and r["stream"] == kind and r["threads"] == threads)

    ratios = {kind: {"ours / pipeline": rate("ours", kind) / rate("pipeline", kind),
                     "ours / xlmr-base": rate("ours", kind) / rate("xlmr-base", kind),
                     "ours in fp32 / pipeline": rate("ours-fp32", kind) / rate("pipeline", kind),
                     "ours with --prepare-ahead / pipeline": rate("ours-prepare-ahead", kind) / rate("pipeline", kind),
                     "ours without cascade / pipeline": rate("ours-no-cascade", kind) / rate("pipeline", kind)}
              for kind in STREAMS}
    result = {"runs": runs, "ratios_at_2_threads": ratios, **cascade_on_dev_and_test(),
              "targets": {"platform: ours / pipeline": 10, "platform: ours / xlmr-base": 20,
                          "suspicious: ours / pipeline": 2, "cascade recall drop (points)": 0.5}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("ratios_at_2_threads", "cascade_on_dev", "cascade_on_test_split")}, indent=2))


if __name__ == "__main__":
    main()
