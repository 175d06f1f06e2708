"""Run a scan on this machine: read in chunks, score, write, checkpoint; resume where it stopped.

After each chunk the output and errors files are synced, then a checkpoint records how
many input rows are done, the files' lengths and the running summary. An interrupted
scan (Ctrl-C, SIGTERM, a crash) therefore leaves valid output up to the last complete
chunk, and ``resume`` continues from there: because chunks are cut at the same rows and
scored the same way, the final output is the one an uninterrupted run writes.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .inputs import Position, detect_format, read_rows
from .outputs import ErrorWriter, open_writer
from .records import InputRow, RowError, ScanSummary
from .scorer import score_ahead

CHECKPOINT_VERSION = 1


class ScanError(RuntimeError):
    """The scan cannot start or continue; the message says what to do."""


@dataclass(frozen=True)
class ScanOptions:
    input: str
    output: str
    input_format: str | None = None
    output_format: str | None = None
    text_field: str = "text"
    id_field: str = "id"
    chunk_size: int = 1024
    with_text: bool = False  # copy each post's text into its record

    def formats(self) -> tuple[str, str]:
        fin = detect_format(self.input, self.input_format)
        return fin, detect_format(self.output, self.output_format or None)


def side_paths(output: str) -> dict[str, Path]:
    out = Path(output)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {"errors": out.with_name(stem + ".errors.jsonl"), "checkpoint": out.with_name(out.name + ".checkpoint.json"),
            "summary": out.with_name(stem + ".summary.json")}


def chunks(rows: Iterator[InputRow | RowError], size: int) -> Iterator[list[InputRow | RowError]]:
    """Chunks of ``size`` input rows (errors count as rows, so chunk edges never move)."""
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):
    raise _Terminated(signal.Signals(signum).name)


@dataclass
class ScanResult:
    summary: ScanSummary
    output: Path
    errors: Path
    summary_file: Path
    interrupted: str | None = None  # why it stopped early (then a checkpoint is left for --resume)


def run_scan(opts: ScanOptions, scorer, identity: dict, resume: bool = False,
             on_progress: Callable[[Position, ScanSummary], None] | None = None,
             prepare_ahead: bool = False) -> ScanResult:
    """Scan ``opts.input`` with ``scorer`` (a ``ChunkScorer``: ``prepare(rows)``, then ``finish``).

    ``prepare_ahead`` prepares the next chunk in a thread while the transformer scores this one
    (on 2 cores, with torch using both, it made scans slower: the thread competes for them).

    ``identity`` (model and policy versions, fields, cascade) must match the checkpoint's
    when resuming, so a resumed scan cannot mix the outputs of two configurations.
    """
    fin, fout = opts.formats()
    paths = side_paths(opts.output)
    identity = {**identity, "input": opts.input, "text_field": opts.text_field, "id_field": opts.id_field,
                "chunk_size": opts.chunk_size, "output_format": fout, "with_text": opts.with_text,
                "version": CHECKPOINT_VERSION}
    state = None
    if paths["checkpoint"].is_file():
        state = json.loads(paths["checkpoint"].read_text(encoding="utf-8"))
        if not resume:
            raise ScanError(f"{paths['checkpoint']} holds an interrupted scan into {opts.output}: add --resume to "
                            f"continue it, or delete the checkpoint to start again")
        changed = {k: (state["identity"].get(k), v) for k, v in identity.items() if state["identity"].get(k) != v}
        if changed:
            raise ScanError("cannot resume: the interrupted scan used different settings ("
                            + "; ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in changed.items())
                            + f"); delete {paths['checkpoint']} to start again")
    elif resume:
        raise ScanError(f"nothing to resume: no checkpoint at {paths['checkpoint']}")
    Path(opts.output).parent.mkdir(parents=True, exist_ok=True)
    writer = open_writer(Path(opts.output), fout, state["output_position"] if state else None, opts.with_text)
    errors = ErrorWriter(paths["errors"], state["errors_position"] if state else None)
    summary = ScanSummary.from_dict(state["summary"]) if state else ScanSummary()
    done = state["chunks_done"] if state else 0
    pos = Position()
    rows = read_rows(opts.input, fin, opts.text_field, opts.id_field, pos)
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        previous = {signal.SIGTERM: signal.getsignal(signal.SIGTERM)}
        signal.signal(signal.SIGTERM, _raise_terminated)
    interrupted = None
    started = time.perf_counter() - summary.seconds
    try:
        # Chunks finished before an interruption are read again (to keep chunk edges) but not scored.
        todo = itertools.islice(chunks(rows, opts.chunk_size), done, None)
        good_rows = lambda chunk: [r for r in chunk if isinstance(r, InputRow)]  # noqa: E731
        for n, (chunk, scored) in enumerate(score_ahead(scorer, todo, good_rows, prepare_ahead), start=done):
            good = good_rows(chunk)
            bad = [r for r in chunk if isinstance(r, RowError)]
            if opts.with_text:
                scored.records[:] = [r.model_copy(update={"text": g.text}) for r, g in zip(scored.records, good)]
            # Records to the output and bad rows to the errors file, each in input order.
            writer.write(scored.records)
            errors.write(bad)
            summary.add(scored.records, bad, scored.flagged_categories)
            summary.seconds = time.perf_counter() - started
            done = n + 1
            _write_json_atomic(paths["checkpoint"], {"identity": identity, "chunks_done": done,
                                                     "output_position": writer.position(),
                                                     "errors_position": errors.position(),
                                                     "summary": summary.to_dict()})
            if on_progress:
                on_progress(pos, summary)
    except KeyboardInterrupt:
        interrupted = "interrupted (Ctrl-C)"
    except _Terminated as exc:
        interrupted = f"stopped by {exc}"
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        writer.close()
        errors.close()
    if interrupted is None:
        writer.finish()
        summary.seconds = time.perf_counter() - started
        _write_json_atomic(paths["summary"], {"input": opts.input, "output": opts.output,
                                               "errors_file": str(paths["errors"]), **identity,
                                               **summary.to_dict()})
        paths["checkpoint"].unlink(missing_ok=True)
    return ScanResult(summary, Path(opts.output), paths["errors"], paths["summary"], interrupted)
