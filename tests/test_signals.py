"""Signals: spaCy patterns per language, spans that point into the original post, clear errors."""

import json

import pytest

from detector import signals as sig
from detector.signals import PatternError, SIGNAL_TYPES, find_signals, load_patterns, pattern_languages
from training.data import TEST_ONLY_LANGS, TRAIN_LANGS


def test_every_corpus_language_has_patterns_covering_every_type():
    assert set(TRAIN_LANGS + TEST_ONLY_LANGS) | {"xx"} <= set(pattern_languages())
    for lang in TRAIN_LANGS:
        types = {e["type"] for e in load_patterns(sig.PATTERN_DIR / f"{lang}.jsonl")}
        assert types >= set(SIGNAL_TYPES) - {"emoji"}, (lang, set(SIGNAL_TYPES) - types)


ADS = {
    "en": "Easy money 💰 £200 a day, no questions asked, DM me @quick_x1",
    "fr": "Argent facile 💰 200€ par jour, pas de questions, écris-moi en privé @plan_x1",
    "de": "Schnelles Geld 💰 200€ am Tag, keine Fragen, schreib mir privat @job_x1",
    "nl": "Snel geld 💰 200 euro per dag, geen vragen, stuur me een dm @klus_x1",
    "es": "Dinero fácil 💰 200€ al día, sin preguntas, escríbeme por privado @curro_x1",
    "it": "Soldi facili 💰 200€ al giorno, senza domande, scrivimi in privato @lavoro_x1",
    "sv": "Snabba cash 💰 2000 kr om dagen, inga frågor, skriv privat @jobb_x1",
    "pt": "Dinheiro fácil 💰 200€ por dia, sem perguntas, manda mensagem privada @biscate_x1",
    "pl": "Szybka kasa 💰 500 zł dziennie, bez pytań, pisz na priv @praca_x1",
    "da": "Hurtige penge 💰 1500 kr om dagen, ingen spørgsmål, skriv privat @job_x1",
}


@pytest.mark.parametrize("lang", sorted(ADS))
def test_money_secrecy_and_contact_found_in_each_language(lang):
    found = find_signals(ADS[lang], lang)
    types = {s.type for s in found}
    assert {"money", "contact", "emoji"} <= types, (lang, types)
    assert "secrecy" in types, (lang, [s.text for s in found])
    assert all(s.lang == lang for s in found)


def test_spans_point_into_the_original_text_even_when_obfuscated():
    text = "Eаsy m0n3y tonight!! DM @x_1 🍃"  # Cyrillic а, leetspeak
    found = find_signals(text, "en")
    for s in found:
        assert text[s.start:s.end] == s.text
    assert any(s.type == "money" and s.text == "Eаsy m0n3y" for s in found)


def test_unknown_language_falls_back_to_multilingual_patterns():
    found = find_signals("Kazi ya haraka 💰 500€ DM @kazi_x1 16+", "sw")
    assert {"money", "contact", "age_school", "emoji"} <= {s.type for s in found}
    assert all(s.lang == "sw" for s in found)
    assert find_signals("💰 DM", None)


def test_benign_text_has_few_signals():
    assert find_signals("We had a lovely walk by the lake and a picnic with the kids.", "en") == []


def test_bad_pattern_files_name_file_line_and_field(tmp_path, monkeypatch):
    bad = tmp_path / "en.jsonl"
    bad.write_text(json.dumps({"id": "money.x", "type": "money", "phrase": "x"}) + "\n"
                   + json.dumps({"id": "cash.y", "type": "cash", "phrase": "y"}) + "\n")
    with pytest.raises(PatternError, match=rf"{bad}:2 field 'type'"):
        load_patterns(bad)
    bad.write_text(json.dumps({"id": "drug.z", "type": "money", "phrase": "z"}) + "\n")
    with pytest.raises(PatternError, match=rf"{bad}:1 field 'id'"):
        load_patterns(bad)
    bad.write_text(json.dumps({"id": "money.z", "type": "money", "phrase": "z", "tokens": []}) + "\n")
    with pytest.raises(PatternError, match="exactly one"):
        load_patterns(bad)
