"""`recruitwatch scan`: every format, every kind of bad row, conservation, windows, stdin."""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from detector.scan.inputs import InputError, Position, read_rows
from detector.scan.local import ScanError, ScanOptions, run_scan
from detector.scan.records import InputRow
from detector.scan.scorer import ChunkScorer, score_ahead
from detector.taxonomy import CATEGORIES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [json.loads(l) for l in (ROOT / "examples" / "posts.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
FIELDS = {"id", "recruitment", "categories", "youth_targeting", "flagged", "action", "rule", "signals", "lang",
          "stage", "model_version", "policy_version"}


@pytest.fixture(scope="module")
def scorer():
    return ChunkScorer.load()


def scan(scorer, input, output, **kw):
    opts = ScanOptions(input=str(input), output=str(output), chunk_size=kw.pop("chunk_size", 5), **kw)
    identity = {"model_version": scorer.model_version, "policy_version": scorer.policy_version}
    return run_scan(opts, scorer, identity)


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
        for r in rows:
            r["categories"], r["signals"] = json.loads(r["categories"]), json.loads(r["signals"])
            r["recruitment"], r["youth_targeting"] = float(r["recruitment"]), float(r["youth_targeting"])
            r["flagged"] = r["flagged"] == "True"
            r["rule"] = r["rule"] or None
        return rows
    return pq.read_table(path).to_pylist()


def write_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"jsonl": folder / "posts.jsonl", "csv": folder / "posts.csv", "parquet": folder / "posts.parquet"}
    paths["jsonl"].write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in EXAMPLES), encoding="utf-8")
    with paths["csv"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows([[p["id"], p["text"]] for p in EXAMPLES])
    pq.write_table(pa.table({"id": [p["id"] for p in EXAMPLES], "text": [p["text"] for p in EXAMPLES]}), paths["parquet"])
    return paths


def test_every_input_and_output_format_gives_the_same_records(scorer, tmp_path):
    inputs = write_inputs(tmp_path / "in")
    results = {}
    for fin, src in inputs.items():
        for fout in ("jsonl", "csv", "parquet"):
            if fin != "jsonl" and fout != "jsonl":
                continue
            out = tmp_path / f"{fin}-to.{fout}"
            res = scan(scorer, src, out)
            assert res.summary.rows_in == len(EXAMPLES) == res.summary.scored and res.summary.errors == 0
            rows = read_output(out)
            assert [r["id"] for r in rows] == [p["id"] for p in EXAMPLES]
            assert set(rows[0]) == FIELDS and set(rows[0]["categories"]) == set(CATEGORIES)
            results[(fin, fout)] = [(r["id"], r["action"], r["rule"], round(r["recruitment"], 5), r["flagged"],
                                     tuple(r["signals"]), r["lang"]) for r in rows]
            assert not out.with_name(out.name + ".checkpoint.json").exists()  # finished scans leave none
    first = next(iter(results.values()))
    assert all(v == first for v in results.values())
    # The shipped examples hold clear recruitment ads: some are flagged, and every action is a policy action.
    assert any(r[4] for r in first) and not all(r[4] for r in first)


def test_each_kind_of_bad_row_goes_to_the_errors_file_and_rows_are_conserved(scorer, tmp_path):
    good = EXAMPLES[:3]
    lines = [json.dumps(good[0]).encode(),
             b'{"id": "broken", "text": "unterminated',            # 2: bad JSON
             b'["a", "list"]',                                       # 3: not an object
             b'{"id": "no-text"}',                                   # 4: missing text
             b'{"id": "number", "text": 42}',                        # 5: text not a string
             b'{"id": "bytes", "text": "caf\xe9 ok"}',              # 6: undecodable bytes (latin-1)
             b"",                                                    # 7: blank: not a row
             json.dumps(good[1]).encode(),
             json.dumps({"text": good[2]["text"]}).encode(),         # 9: no id: scored as line-9
             json.dumps({"id": "empty", "text": ""}).encode()]       # 10: empty post: scored, not dropped
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    res = scan(scorer, src, tmp_path / "out.jsonl")
    s = res.summary
    assert (s.rows_in, s.scored, s.errors) == (9, 4, 5) and s.conserved
    rows = read_output(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == [good[0]["id"], good[1]["id"], "line-9", "empty"]
    errors = [json.loads(l) for l in res.errors.read_text(encoding="utf-8").splitlines()]
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6]
    assert all(e["file"] == str(src) for e in errors)
    reasons = [e["reason"] for e in errors]
    assert "bad JSON" in reasons[0] and "JSON object" in reasons[1]
    assert reasons[2] == "field 'text': missing" and "expected a string, got int" in reasons[3]
    assert "not valid UTF-8" in reasons[4]
    summary = json.loads(res.summary_file.read_text())
    assert summary["rows_in"] == summary["scored"] + summary["errors"] == 9


def test_bad_csv_and_parquet_rows(scorer, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_bytes(b'id,text\n'
                    b'a,"Need a driver tonight, 500 cash, no questions"\n'
                    b'b,too,many\n'                              # line 3: wrong number of columns
                    b'c,"caf\xe9"\n'                             # line 4: undecodable bytes
                    b'd,"a quoted post\nover two lines"\n'       # lines 5-6: one record
                    b'e,last\n')                                 # line 7
    res = scan(scorer, src, tmp_path / "csv-out.jsonl")
    assert [r["id"] for r in read_output(tmp_path / "csv-out.jsonl")] == ["a", "d", "e"]
    errors = [json.loads(l) for l in res.errors.read_text().splitlines()]
    assert [(e["line"], e["id"]) for e in errors] == [(3, None), (4, "c")]
    assert "expected 2 columns" in errors[0]["reason"] and "undecodable" in errors[1]["reason"]
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "text": ["hello there", None, "Quick cash, DM me"]}),
                   tmp_path / "bad.parquet")
    res = scan(scorer, tmp_path / "bad.parquet", tmp_path / "pq-out.parquet")
    assert [r["id"] for r in read_output(tmp_path / "pq-out.parquet")] == ["p1", "p3"]
    assert [json.loads(l)["line"] for l in res.errors.read_text().splitlines()] == [2]
    with pytest.raises(InputError, match="no column 'body'"):
        list(read_rows(str(tmp_path / "bad.parquet"), "parquet", text_field="body", pos=Position()))
    with pytest.raises(InputError, match=r"bad\.csv:1: no column 'body'"):
        list(read_rows(str(src), "csv", text_field="body", pos=Position()))


def test_long_posts_are_read_to_the_end(scorer, tmp_path):
    filler = " ".join(["We walked along the river, fed the ducks and talked about the holidays."] * 60)
    ad = ("Need 2 young runners this weekend, 500€ cash each, no questions asked, delete this chat, "
          "DM me on Telegram @fake_handle_000.")
    rows = [{"id": "filler", "text": filler}, {"id": "filler+ad", "text": filler + " " + ad}]
    src = tmp_path / "long.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scan(scorer, src, tmp_path / "out.jsonl", chunk_size=10)
    out = {r["id"]: r for r in read_output(tmp_path / "out.jsonl")}
    # The ad sits beyond the first 512 tokens: only windowing lets it count.
    assert len(scorer.detector.net.tokenizer(filler)["input_ids"]) > 600
    assert out["filler+ad"]["recruitment"] > out["filler"]["recruitment"] + 0.05
    assert {"secrecy", "contact"} <= {s.split(".")[0] for s in out["filler+ad"]["signals"]}


def test_interrupted_scan_needs_resume_and_checks_settings(scorer, tmp_path):
    src = tmp_path / "in" / "posts.jsonl"
    write_inputs(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.checkpoint.json").write_text(json.dumps({"identity": {"model_version": "other@9"},
                                                                    "chunks_done": 1}))
    with pytest.raises(ScanError, match="--resume"):
        scan(scorer, src, out)
    opts = ScanOptions(input=str(src), output=str(out), chunk_size=5)
    with pytest.raises(ScanError, match="different settings"):
        run_scan(opts, scorer, {"model_version": scorer.model_version}, resume=True)
    (tmp_path / "out.jsonl.checkpoint.json").unlink()
    with pytest.raises(ScanError, match="nothing to resume"):
        run_scan(opts, scorer, {}, resume=True)


def test_cli_reads_stdin_and_prints_a_summary(tmp_path):
    from cli.main import app

    data = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in EXAMPLES[:4]) + "not json\n"
    res = CliRunner().invoke(app, ["scan", "-", "-o", str(tmp_path / "out.csv")], input=data, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "5 rows in = 4 scored + 1 in error" in res.output
    assert "action" in res.output and "language" in res.output and str(tmp_path / "out.csv") in res.output
    errors = (tmp_path / "out.errors.jsonl").read_text()
    assert '"file": "<stdin>", "line": 5' in errors
    assert len(read_output(tmp_path / "out.csv")) == 4
    res = CliRunner().invoke(app, ["scan", str(tmp_path / "posts.txt"), "-o", str(tmp_path / "x.jsonl")])
    assert res.exit_code == 2 and "--format" in res.output


def test_with_text_output_can_be_pushed_to_annotators(scorer, tmp_path):
    from annotation.push import read_posts

    src = write_inputs(tmp_path / "in")["jsonl"]
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{fmt}"
        scan(scorer, src, out, with_text=True)
        rows = read_output(out)
        assert [r["text"] for r in rows] == [p["text"] for p in EXAMPLES]
    good, bad = read_posts(tmp_path / "out.jsonl")  # what `recruitwatch annotate push` reads
    assert not bad and [p.post.id for p in good] == [p["id"] for p in EXAMPLES]
    scan(scorer, src, tmp_path / "plain.jsonl")
    assert "text" not in read_output(tmp_path / "plain.jsonl")[0]


def test_preparing_the_next_chunk_ahead_changes_nothing_but_speed(scorer):
    rows = [InputRow(i + 1, f"r{i}", EXAMPLES[i % len(EXAMPLES)]["text"]) for i in range(23)]
    batches = [rows[i : i + 5] for i in range(0, len(rows), 5)]
    ahead = list(score_ahead(scorer, batches, lambda c: c))
    plain = list(score_ahead(scorer, batches, lambda c: c, ahead=False))
    assert [c for c, _ in ahead] == batches
    assert [s.records for _, s in ahead] == [s.records for _, s in plain]

    class Failing:
        def prepare(self, rows):
            raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        list(score_ahead(Failing(), batches, lambda c: c))
