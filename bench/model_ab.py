"""Scan throughput of two or more model folders, in alternating rounds within one process.

    .venv/bin/python bench/model_ab.py MODEL_A MODEL_B [--posts 3000] [--rounds 3] [--without-lexical]

For a change to the model that should cost a scan nothing (lexical heads, signal counts),
a whole `scan_bench.py` run is too noisy: its platform ratio swings by a few posts per
second between runs. Here each model scores the same platform stream (see `scan_bench.stream`)
in turn, round after round, after a warm-up on other posts, so machine drift hits all of them
alike; it also prints how many posts stopped at each stage, which must match when only the
heads changed. An older shipped model comes from git, e.g.
`git archive 7904271 detector/models/recruitwatch-base | tar -x -C /tmp/v2`.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from scan_bench import stream


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="model folders ('default' for the shipped one)")
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=1024, help="posts per scan chunk, as `recruitwatch scan`")
    ap.add_argument("--without-lexical", action="store_true", help="also the first model with its lexical heads off")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from detector.scan.records import InputRow
    from detector.scan.scorer import ChunkScorer

    torch.set_num_threads(args.threads)
    texts, warm = stream("platform", args.posts), stream("platform", 512, seed=99)
    scorers = {}
    for m in args.models:
        scorers[m] = ChunkScorer.load(model=None if m == "default" else m, batch_size=64)
    if args.without_lexical:
        plain = ChunkScorer.load(model=None if args.models[0] == "default" else args.models[0], batch_size=64)
        plain.detector.lexical = None
        scorers[f"{args.models[0]} (no lexical heads)"] = plain
    for s in scorers.values():
        s.score([InputRow(i + 1, f"w{i}", t) for i, t in enumerate(warm)])
    for rnd in range(args.rounds):
        for name, s in scorers.items():
            stages, start = Counter(), time.perf_counter()
            for i in range(0, len(texts), args.chunk):
                rows = [InputRow(i + j + 1, str(i + j), t) for j, t in enumerate(texts[i:i + args.chunk])]
                stages.update(r.stage for r in s.score(rows).records)
            rate = len(texts) / (time.perf_counter() - start)
            print(f"round {rnd + 1}  {name}: {rate:.1f} posts/s  stages {dict(sorted(stages.items()))}", flush=True)


if __name__ == "__main__":
    main()
