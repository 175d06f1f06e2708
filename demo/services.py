"""What the tabs share: one detector per app, the shipped policies, and scored labelled sets.

The detector is loaded once, on first use, behind a lock. Scoring a labelled set (the
model and the signal patterns over every post) is the slow part of the Policy lab, so it
is done once per set and kept; moving a slider only re-runs the policy decisions.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from pathlib import Path

from policies.loader import load_policy
from policies.schema import Policy
from policies.testing import Scored, score_posts

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies" / "library"
DEFAULT_POLICY = "default"
EVAL_SPLIT = "bundled evaluation split"
MAX_TEXT_CHARS = 5000  # one post in "Try a post"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # batch files and labelled sets
MAX_ROWS = 5000


def scratch_dir(prefix: str) -> str:
    """A new folder for files the app hands out (results, exports), inside Gradio's temporary
    folder, which ``demo/__init__`` creates per process and removes at exit."""
    import os
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("GRADIO_TEMP_DIR") or None)


class InputError(ValueError):
    """Input the app refuses, with a message for the person who gave it."""


def shipped_policies() -> dict[str, Path]:
    """Policy name (file stem) to path, ``default`` first."""
    paths = sorted(POLICY_DIR.glob("*.yaml"), key=lambda p: (p.stem != DEFAULT_POLICY, p.stem))
    return {p.stem: p for p in paths}


def check_text(text: str | None) -> str:
    if not text or not text.strip():
        raise InputError("Type or paste a post first.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The post is {len(text):,} characters long; the demo takes at most {MAX_TEXT_CHARS:,}. "
                         "Shorten it, or score long posts with `recruitwatch predict`.")
    return text


def read_upload(path: str | Path | None, what: str = "file") -> bytes:
    """An uploaded file's bytes, refusing files over the size limit."""
    if not path:
        raise InputError(f"Upload a {what} first.")
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise InputError(f"{path.name} is {size / 1e6:.1f} MB; the demo takes files up to "
                         f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB. Split it, or use `recruitwatch predict` for large files.")
    return path.read_bytes()


class Services:
    def __init__(self, model: str | Path | None = None, detector=None, sample: int | None = None):
        self.model = model
        self.sample = sample  # default number of evaluation-split posts in the Policy lab (None: all)
        self._detector = detector
        self._lock = threading.Lock()
        self._scored: OrderedDict[str, Scored] = OrderedDict()
        self._scored_lock = threading.Lock()

    def detector(self):
        with self._lock:
            if self._detector is None:
                from detector.detector import Detector

                self._detector = Detector.load(self.model)
            return self._detector

    def policy(self, name: str) -> Policy:
        policies = shipped_policies()
        if name not in policies:
            raise InputError(f"Unknown policy {name!r}; shipped policies are {', '.join(policies)}.")
        return load_policy(policies[name])

    # --- labelled sets for the Policy lab ----------------------------------------------

    def _cached(self, key: str, make):
        with self._scored_lock:
            if key in self._scored:
                self._scored.move_to_end(key)
                return self._scored[key]
            scored = make()
            self._scored[key] = scored
            while len(self._scored) > 6:
                self._scored.popitem(last=False)
            return scored

    def eval_scored(self, sample: int | None = None) -> Scored:
        """The bundled evaluation split (corpus posts whose split is ``test``), scored once.

        ``sample`` takes that many posts, the same ones every time (seeded), so the lab
        opens fast on a slow machine; None or 0 takes them all.
        """
        sample = sample or self.sample
        sample = int(sample) if sample else None

        def make() -> Scored:
            from training.data import read_corpus, read_splits

            splits = read_splits()
            records = [r for r in read_corpus() if splits.get(r.id) == "test"]
            if sample and sample < len(records):
                records = sorted(random.Random(0).sample(records, sample), key=lambda r: r.id)
            return score_posts(records, self.detector())

        return self._cached(f"eval:{sample or 'all'}", make)

    def upload_scored(self, data: bytes, name: str) -> tuple[Scored, list]:
        """A labelled file (JSONL, CSV or Parquet) uploaded by the user: scored posts and the bad rows.

        The bytes are written to a temporary folder only while they are read, then removed.
        """
        import tempfile

        from training.data import read_labelled

        suffix = Path(name).suffix.lower()
        if suffix not in (".jsonl", ".json", ".ndjson", ".csv", ".parquet"):
            raise InputError(f"{Path(name).name}: use a .jsonl, .csv or .parquet file of labelled posts.")

        def make() -> tuple[Scored, list]:
            with tempfile.TemporaryDirectory(prefix="recruitwatch-lab-") as tmp:
                path = Path(tmp) / ("labelled" + suffix)
                path.write_bytes(data)
                good, errors = read_labelled(path)
            errors = [e.__class__(Path(name).name, e.line, e.field, e.message) for e in errors]
            if not good:
                raise InputError(f"{Path(name).name}: no valid labelled posts"
                                 + (f" (first problem: {errors[0]})" if errors else "."))
            if len(good) > MAX_ROWS:
                raise InputError(f"{Path(name).name} has {len(good):,} posts; the demo takes at most {MAX_ROWS:,}.")
            return score_posts(good, self.detector()), errors

        return self._cached("upload:" + hashlib.sha256(data).hexdigest(), make)
