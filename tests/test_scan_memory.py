"""Memory stays bounded on a 200,000-row input: the scan streams, it never loads the file."""

import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS = 200_000
# Measured here: about 1.1-1.5 GiB (the model, spaCy matchers, one chunk). A scan that kept its
# input or output in memory would grow far past this on 200,000 rows.
PEAK_RSS_LIMIT_MIB = 2048
EVERYDAY = ["ok", "lol same", "nice pic 😂", "see you at 5", "happy birthday!!", "who is coming tonight?", "gg wp",
            "thanks mum", "rain again...", "best pizza in town 🍕", "can't wait for the weekend", "new shoes today",
            "haha no way", "good luck on the exam", "miss you", "that match was insane", "coffee first ☕",
            "where are my keys", "finally friday", "love this song", "bonne nuit", "hoy no hay clase", "endlich Ferien"]


@pytest.mark.slow
def test_peak_memory_is_bounded_on_200k_rows(tmp_path):
    rng = random.Random(3)
    src = tmp_path / "big.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for i in range(ROWS):
            if i % 10_000 == 5:
                f.write("{broken\n")
            elif i % 1_000 == 9:
                f.write(json.dumps({"id": f"r{i}", "text": "Need a driver tonight, 500 cash, no questions, DM me"}) + "\n")
            else:
                f.write(json.dumps({"id": f"r{i}", "text": rng.choice(EVERYDAY)}, ensure_ascii=False) + "\n")
    out = tmp_path / "out.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = subprocess.run([sys.executable, "-m", "cli", "scan", str(src), "-o", str(out), "--chunk-size", "4096"],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr[-2000:]
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert before / 1024 < PEAK_RSS_LIMIT_MIB, "an earlier child already used more; measure in a fresh process"
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["rows_in"] == ROWS and summary["errors"] == 20 and summary["scored"] == ROWS - 20
    with out.open(encoding="utf-8") as f:
        assert sum(1 for _ in f) == ROWS - 20
    assert peak_mib < PEAK_RSS_LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB"
    print(f"peak RSS {peak_mib:.0f} MiB for {ROWS} rows in {summary['seconds']:.0f} s")
