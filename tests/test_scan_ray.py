"""`--engine ray` on a local Ray instance makes the same decisions as the local engine."""

import json
import os
from pathlib import Path

import pytest

from detector.scan.local import ScanOptions, run_scan
from detector.scan.scorer import ChunkScorer
from training.data import read_corpus, read_splits


@pytest.mark.slow
def test_ray_engine_equals_local_engine(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from detector.scan.ray_engine import jsonl_ranges, run_ray_scan

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    splits = read_splits()
    posts = [r for r in read_corpus() if splits[r.id] == "test"][:150]
    lines = [json.dumps({"id": r.id, "text": r.text}, ensure_ascii=False) for r in posts]
    lines[20] = "{broken"
    src = tmp_path / "posts.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Byte ranges cut at line ends, with the right first line numbers.
    ranges = jsonl_ranges(str(src), 4)
    assert ranges[0][:1] == (0,) and ranges[-1][1] == src.stat().st_size and len(ranges) >= 3
    raw = src.read_bytes()
    assert all(raw[: s].count(b"\n") + 1 == line for s, _, line in ranges)

    scorer = ChunkScorer.load()
    local = run_scan(ScanOptions(str(src), str(tmp_path / "local.jsonl"), chunk_size=32), scorer,
                     {"model_version": scorer.model_version, "policy_version": scorer.policy_version})
    try:
        res = run_ray_scan(ScanOptions(str(src), str(tmp_path / "ray.jsonl"), chunk_size=32), actors=2,
                           ray_init={"num_cpus": 3})
    finally:
        ray.shutdown()
    assert res.summary.rows_in == local.summary.rows_in == 150 and res.summary.errors == 1
    a = [json.loads(l) for l in (tmp_path / "ray.jsonl").read_text().splitlines()]
    b = [json.loads(l) for l in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert [(r["id"], r["action"], r["rule"], r["flagged"], r["stage"]) for r in a] == \
           [(r["id"], r["action"], r["rule"], r["flagged"], r["stage"]) for r in b]
    assert max(abs(x["recruitment"] - y["recruitment"]) for x, y in zip(a, b)) < 1e-4
    assert (tmp_path / "ray.errors.jsonl").read_text() == (tmp_path / "local.errors.jsonl").read_text()
