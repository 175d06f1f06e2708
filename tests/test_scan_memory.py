"""Memory stays bounded on a 200,000-row input: the scan streams, it never loads the file."""

import json
import os
import random
import time
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


def vm_hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # the process just ended
        pass
    return 0.0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc (Linux)")
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
    log = (tmp_path / "scan.log").open("w")  # a file, not a pipe: a full pipe would stall the scan
    proc = subprocess.Popen([sys.executable, "-m", "cli", "scan", str(src), "-o", str(out), "--chunk-size", "4096"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    # VmHWM is the child's own peak (ru_maxrss would also count this test process, which it was forked from).
    peak_mib = 0.0
    while proc.poll() is None:
        peak_mib = max(peak_mib, vm_hwm_mib(proc.pid))
        time.sleep(0.2)
    log.close()
    assert proc.returncode == 0, (tmp_path / "scan.log").read_text()[-2000:]
    assert peak_mib > 100, "could not read the scan's memory"
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["rows_in"] == ROWS and summary["errors"] == 20 and summary["scored"] == ROWS - 20
    with out.open(encoding="utf-8") as f:
        assert sum(1 for _ in f) == ROWS - 20
    assert peak_mib < PEAK_RSS_LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB"
    print(f"peak RSS {peak_mib:.0f} MiB for {ROWS} rows in {summary['seconds']:.0f} s")
