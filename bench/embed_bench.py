"""CPU embedding throughput of the backbone: texts/s at 2 threads, batch 32, short and long posts.

    python bench/embed_bench.py [--threads 2] [--batch-size 32] [--n 256]

Prints texts/s and tokens/s for short posts (one line, like a comment) and long posts
(several paragraphs, like a classified ad or a channel post), and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_posts(n: int, long: bool, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    base = [json.loads(l)["text"] for l in open(ROOT / "examples" / "posts.jsonl", encoding="utf-8")]
    posts = []
    for _ in range(n):
        parts = rng.sample(base, k=rng.randint(6, 10) if long else 1)
        posts.append(" ".join(parts))
    return posts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from detector.backbone import Encoder

    enc = Encoder.load()
    enc.embed(make_posts(8, False))  # warm-up
    print(f"threads={args.threads} batch={args.batch_size} n={args.n}")
    for name, long in (("short", False), ("long", True)):
        posts = make_posts(args.n, long)
        tokens = sum(len(r) for r in enc.windows(posts).rows)
        start = time.perf_counter()
        enc.embed(posts, batch_size=args.batch_size)
        sec = time.perf_counter() - start
        print(f"{name:5s}: {args.n / sec:8.1f} texts/s  {tokens / sec:9.0f} tokens/s  "
              f"({tokens / args.n:.0f} tokens/text, {sec:.1f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
