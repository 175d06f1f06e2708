"""Normalisation undoes the obfuscations the augmenter (and recruiters) apply, and nothing else."""

import random

import pytest

from detector.normalize import normalize
from training.augment import TRANSFORMS


@pytest.mark.parametrize("raw, clean", [
    ("m0n3y c4$h", "money cash"),
    ("Nееd quісk саsh", "Need quick cash"),  # Cyrillic look-alikes
    ("c a s h tonight", "cash tonight"),
    ("m.o.n.e.y and q-u-i-c-k", "money and quick"),
    ("ＤＭ ｎｏｗ", "DM now"),  # full-width
    ("❄️ 👍🏽", "❄ 👍"),  # variation selector and skin tone
])
def test_obfuscations_are_undone(raw, clean):
    assert normalize(raw) == clean


@pytest.mark.parametrize("text", [
    "500€ a day, 24h, 2x, 1st prize, 10min, @fast_b00ks",
    "Это обычный русский текст",
    "Καλημέρα σε όλους",
    "Call +44 7700 900123",
    "C'est l'été !!! Qui veut?",
])
def test_ordinary_text_is_left_alone(text):
    assert normalize(text) == text


@pytest.mark.parametrize("name", ["leetspeak", "homoglyphs", "spacing"])
def test_normalize_reverses_most_augmenter_obfuscation(name):
    text = "Need quick cash tonight, drivers wanted, no questions asked, message me for details"
    hits = sum(normalize(TRANSFORMS[name](text, random.Random(s))) == text for s in range(20))
    assert hits >= 14, f"{name}: only {hits}/20 variants restored"
