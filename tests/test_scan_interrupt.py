"""A real scan killed mid-way, then resumed, writes exactly what an uninterrupted scan writes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.data import read_corpus, read_splits

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 40


def make_input(path: Path, n: int = 400) -> None:
    splits = read_splits()
    posts = [r for r in read_corpus() if splits[r.id] == "test"][:n - 2]
    lines = [json.dumps({"id": r.id, "text": r.text}, ensure_ascii=False) for r in posts]
    lines.insert(57, "{not json")  # error rows on both sides of the interruption
    lines.insert(310, json.dumps({"id": "no-text"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scan_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "scan", str(src), "-o", str(out), "--chunk-size", str(CHUNK), *extra]


def run(cmd) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def start_and_stop(cmd, checkpoint: Path, sig: int, after_chunks: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    deadline = time.time() + 300
    while time.time() < deadline:
        if checkpoint.is_file():
            try:
                if json.loads(checkpoint.read_text())["chunks_done"] >= after_chunks:
                    break
            except (json.JSONDecodeError, KeyError):
                pass  # caught mid-replace; look again
        if proc.poll() is not None:
            pytest.fail(f"the scan ended before it could be interrupted:\n{proc.stderr.read()}")
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "sigterm"])
def test_kill_then_resume_equals_uninterrupted(tmp_path, sig):
    src = tmp_path / "posts.jsonl"
    make_input(src)
    whole = tmp_path / "whole" / "out.jsonl"
    assert run(scan_cmd(src, whole)).returncode == 0
    out = tmp_path / "cut" / "out.jsonl"
    checkpoint = out.with_name("out.jsonl.checkpoint.json")
    proc = start_and_stop(scan_cmd(src, out), checkpoint, sig, after_chunks=3)
    done = json.loads(checkpoint.read_text())["chunks_done"]
    assert 3 <= done < 10, "stopped too late to test anything"
    # What is on disk is valid up to the last complete chunk (a crash may leave a partial chunk after it).
    kept = out.read_bytes()[: json.loads(checkpoint.read_text())["output_position"]].decode().splitlines()
    assert all(json.loads(l)["id"] for l in kept)
    if sig == signal.SIGTERM:
        stderr = proc.stderr.read()
        assert proc.returncode == 130
        assert "--resume" in stderr and "valid up to the last complete chunk" in stderr
    resumed = run(scan_cmd(src, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert out.with_name("out.errors.jsonl").read_bytes() == whole.with_name("out.errors.jsonl").read_bytes()
    a = json.loads(out.with_name("out.summary.json").read_text())
    b = json.loads(whole.with_name("out.summary.json").read_text())
    assert a["rows_in"] == b["rows_in"] == 400 and a["errors"] == b["errors"] == 2
    assert {k: a[k] for k in ("actions", "languages", "categories", "stages")} == \
           {k: b[k] for k in ("actions", "languages", "categories", "stages")}
    assert not checkpoint.exists()
