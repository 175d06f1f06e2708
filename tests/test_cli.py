"""The `recruitwatch` command line, run as a user would."""

import json

import numpy as np
from typer.testing import CliRunner

from cli.main import app
from conftest import ROOT

runner = CliRunner()


def test_backbone_command_prints_path_and_checksum():
    result = runner.invoke(app, ["backbone", "--no-verify"])
    assert result.exit_code == 0, result.output
    assert "1571fc9827503943" in result.output and "parameters" in result.output


def test_embed_examples(tmp_path):
    out = tmp_path / "emb.npz"
    result = runner.invoke(app, ["embed", str(ROOT / "examples" / "posts.jsonl"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    n = sum(1 for _ in open(ROOT / "examples" / "posts.jsonl"))
    assert f"{n} posts embedded, 0 lines in error" in result.output
    data = np.load(out)
    assert data["embeddings"].shape == (n, 384) and len(data["ids"]) == n


def test_embed_reports_bad_lines_without_losing_them(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "hello"}) + "\n{broken\n" + json.dumps({"id": "b"}) + "\n")
    out = tmp_path / "emb.npz"
    result = runner.invoke(app, ["embed", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 posts embedded, 2 lines in error (of 3" in result.output
    errors = [json.loads(l) for l in open(out.with_suffix(".errors.jsonl"))]
    assert [(e["line"], e["field"]) for e in errors] == [(2, None), (3, "text")]
