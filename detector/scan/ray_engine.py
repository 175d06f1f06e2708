"""The same scan on a Ray cluster: read tasks, an actor pool of detectors, one ordered output.

Ray Data reads the input with our own parser (so line numbers and row errors are exactly
the local engine's): a JSONL file is cut into byte ranges at line ends, each with its
first line number, and read in parallel; CSV and Parquet are read by one task per file.
``map_batches`` sends chunks to a pool of actors that each load the detector, its first
stage and the policy once. The driver streams the results back in input order and writes
them with the local engine's writers, so the output is byte-for-byte the local one.
The cluster comes from ``RAY_ADDRESS`` (a local Ray instance without it); input paths must
be readable by every worker (shared storage).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .inputs import Position, parse_jsonl_line, read_rows
from .local import ScanOptions, ScanResult, side_paths, _write_json_atomic
from .outputs import ErrorWriter, open_writer
from .records import InputRow, RowError, ScanRecord, ScanSummary

COLUMNS = ("line", "id", "text", "error", "file")


def _table(rows: list[InputRow | RowError]):
    import pyarrow as pa

    cols = {c: [] for c in COLUMNS}
    for r in rows:
        err = isinstance(r, RowError)
        cols["line"].append(r.line)
        cols["id"].append(r.id)
        cols["text"].append(None if err else r.text)
        cols["error"].append(r.reason if err else None)
        cols["file"].append(r.file if err else None)
    return pa.table({"line": pa.array(cols["line"], pa.int64()), "id": pa.array(cols["id"], pa.string()),
                     "text": pa.array(cols["text"], pa.string()), "error": pa.array(cols["error"], pa.string()),
                     "file": pa.array(cols["file"], pa.string())})


def jsonl_ranges(path: str, parts: int) -> list[tuple[int, int, int]]:
    """(start byte, end byte, first line number) for about ``parts`` pieces cut at line ends."""
    size = Path(path).stat().st_size
    if size == 0:
        return [(0, 0, 1)]
    step = max(size // max(parts, 1), 1)
    ranges, start, line = [], 0, 1
    with open(path, "rb") as f:
        while start < size:
            f.seek(min(start + step, size))
            f.readline()  # finish the line the cut falls in
            end = min(f.tell(), size)
            f.seek(start)
            line_next = line + f.read(end - start).count(b"\n")
            ranges.append((start, end, line))
            start, line = end, line_next
    return ranges


def _blocks(rows, block_rows):
    """Tables of up to ``block_rows`` rows (InputRow or RowError) from an iterator."""
    buf = []
    for row in rows:
        buf.append(row)
        if len(buf) >= block_rows:
            yield _table(buf)
            buf = []
    if buf:
        yield _table(buf)


def _jsonl_range_rows(path, start, end, first_line, text_field, id_field):
    with open(path, "rb") as f:
        f.seek(start)
        lineno = first_line
        while f.tell() < end:
            raw = f.readline()
            if not raw:
                break
            row = parse_jsonl_line(path, lineno, raw, text_field, id_field)
            lineno += 1
            if row is not None:
                yield row


def posts_datasource(path: str, fmt: str, text_field: str, id_field: str, block_rows: int = 4096):
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class PostsDatasource(Datasource):
        def estimate_inmemory_data_size(self):
            return Path(path).stat().st_size

        def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            def meta():
                return BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=(path,))

            if fmt == "jsonl":
                return [ReadTask(lambda s=s, e=e, l=l: _blocks(_jsonl_range_rows(path, s, e, l, text_field, id_field),
                                                               block_rows), meta())
                        for s, e, l in jsonl_ranges(path, parallelism)]
            return [ReadTask(lambda: _blocks(read_rows(path, fmt, text_field, id_field, Position()), block_rows),
                             meta())]

    return PostsDatasource()


class ScanActor:
    """One pool member: loads the detector once, then scores every batch it is given."""

    def __init__(self, model, policy, cascade, device, batch_size, precision="auto"):
        from .scorer import ChunkScorer

        self.scorer = ChunkScorer.load(model, policy, cascade=cascade, device=device, batch_size=batch_size,
                                       precision=precision)

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        good = [InputRow(r["line"], r["id"], r["text"]) for r in rows if r["error"] is None]
        scored = self.scorer.score(good)
        by_line = {g.line: (rec, cats) for g, rec, cats in zip(good, scored.records, scored.flagged_categories)}
        out = {"line": [], "kind": [], "payload": [], "categories": [], "text": []}
        for r in rows:
            out["line"].append(r["line"])
            out["text"].append(r["text"])
            if r["error"] is None:
                rec, cats = by_line[r["line"]]
                out["kind"].append("record")
                out["payload"].append(rec.model_dump_json())
                out["categories"].append(json.dumps(cats))
            else:
                out["kind"].append("error")
                out["payload"].append(json.dumps(RowError(r["file"], r["line"], r["error"], r["id"]).to_dict()))
                out["categories"].append("[]")
        return pa.table(out)


def run_ray_scan(opts: ScanOptions, model=None, policy=None, cascade: bool = True, device: str = "cpu",
                 batch_size: int = 64, actors: int = 2, gpus_per_actor: float = 0.0, ray_init: dict | None = None,
                 precision: str = "auto") -> ScanResult:
    import ray

    from .local import ScanError

    fin, fout = opts.formats()
    if opts.input == "-":
        raise ScanError("--engine ray reads files the workers can reach, not stdin")
    if not Path(opts.input).is_file():
        raise ScanError(f"{opts.input}: no such file")
    paths = side_paths(opts.output)
    if not ray.is_initialized():
        init = dict(ray_init or {})
        if not os.environ.get("RAY_ADDRESS"):
            # A local instance: the actors hold a CPU each, and the read tasks need one more.
            init.setdefault("num_cpus", max(os.cpu_count() or 1, actors + 1))
            init.setdefault("include_dashboard", False)
        ray.init(**init, log_to_driver=False)  # RAY_ADDRESS, when set, picks the cluster
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # output rows in input order, like the local engine
    ds = ray.data.read_datasource(posts_datasource(opts.input, fin, opts.text_field, opts.id_field))
    ds = ds.map_batches(ScanActor, fn_constructor_kwargs=dict(model=model, policy=policy, cascade=cascade,
                                                              device=device, batch_size=batch_size,
                                                              precision=precision),
                        batch_size=opts.chunk_size, batch_format="pyarrow", concurrency=actors,
                        num_gpus=gpus_per_actor or None)
    Path(opts.output).parent.mkdir(parents=True, exist_ok=True)
    writer = open_writer(Path(opts.output), fout, None, opts.with_text)
    errors = ErrorWriter(paths["errors"], None)
    summary = ScanSummary()
    started = time.perf_counter()
    identity = {}
    try:
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=opts.chunk_size):
            records, bad, cats = [], [], []
            for row in batch.to_pylist():
                if row["kind"] == "record":
                    rec = ScanRecord.model_validate_json(row["payload"])
                    records.append(rec.model_copy(update={"text": row["text"]}) if opts.with_text else rec)
                    cats.append(json.loads(row["categories"]))
                else:
                    e = json.loads(row["payload"])
                    bad.append(RowError(e["file"], e["line"], e["reason"], e["id"]))
            writer.write(records)
            errors.write(bad)
            summary.add(records, bad, cats)
            if records and not identity:
                identity = {"model_version": records[0].model_version, "policy_version": records[0].policy_version}
    finally:
        writer.close()
        errors.close()
    writer.finish()
    summary.seconds = time.perf_counter() - started
    _write_json_atomic(paths["summary"], {"input": opts.input, "output": opts.output, "engine": "ray",
                                           "errors_file": str(paths["errors"]), **identity, **summary.to_dict()})
    return ScanResult(summary, Path(opts.output), paths["errors"], paths["summary"])
