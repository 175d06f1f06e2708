"""The shipped detector: loads offline, gets clear cases right in several languages, stays calibrated."""

import json
import socket

import numpy as np

from detector.records import Prediction

CLEAR_RECRUITMENT = [
    "Need 2 runners this weekend 🍃 £300 a day cash, 16+ fine, train paid. No questions. Snap me @weekend_work_x1",
    "Cherche jeunes pour faire le chouf devant le bâtiment, 80€ la journée, payé cash. Écris en privé 🤫",
    "Suche jemanden mit eigenem Konto, du kriegst 500€ wenn du Geld annimmst und abhebst. Keine Fragen. Schreib auf Telegram",
    "Se buscan chavales para guardar unos paquetes en casa, 400€ al mes, discreción total. Escríbeme por privado",
    "Uppdrag ikväll i Göteborg 🔫 betalar 50k, du behöver bara skrämma en kille. Skriv på Telegram",
    "Uithalers gezocht in de haven, 10k per container 📦 geen vragen, app ons",
]
CLEAR_BENIGN = [
    "Grandma's apple pie recipe: flour, butter, apples, cinnamon. Bake 45 minutes at 180°C 🍎",
    "La police met en garde les parents : des réseaux proposent de « l'argent facile » aux adolescents sur Snapchat.",
    "Wir suchen Paketzusteller (m/w/d) in Vollzeit, unbefristeter Vertrag, Tariflohn, Führerschein Klasse B erforderlich.",
    "Mi hijo de 15 años recibió un mensaje ofreciéndole 'dinero fácil' por llevar un paquete. ¿A quién lo denuncio?",
    "Vi söker sommarjobbare till kommunens parkförvaltning, 16–18 år, lön enligt avtal. Ansök via kommunens webbplats.",
    "Ze boden me 500 euro om een tas vast te houden, ik zei nee en heb het gemeld bij de politie.",
]


def test_prediction_has_exactly_the_agreed_fields(det):
    (p,) = det.predict(["hello"])
    assert isinstance(p, Prediction)
    assert set(p.model_dump()) == {"recruitment", "flagged", "categories", "flagged_categories",
                                   "youth_targeting", "youth_flagged", "lang"}
    assert set(p.categories) == set(det.config.categories)


def test_clear_recruitment_is_flagged_in_six_languages(det):
    preds = det.predict(CLEAR_RECRUITMENT)
    missed = [t for t, p in zip(CLEAR_RECRUITMENT, preds) if not p.flagged]
    assert len(missed) <= 1, missed
    assert [p.lang for p in preds] == ["en", "fr", "de", "es", "sv", "nl"]


def test_clear_benign_is_not_flagged(det):
    preds = det.predict(CLEAR_BENIGN)
    wrong = [t for t, p in zip(CLEAR_BENIGN, preds) if p.flagged]
    assert len(wrong) <= 1, wrong


def test_categories_follow_the_content(det):
    mule, weapon = det.predict([CLEAR_RECRUITMENT[2], CLEAR_RECRUITMENT[4]])
    assert "money_mule" in mule.flagged_categories
    assert "violence_for_hire" in weapon.flagged_categories
    assert max(mule.categories, key=mule.categories.get) == "money_mule"


def test_single_string_and_empty_inputs(det):
    assert len(det.predict("Snabba cash ikväll")) == 1
    assert det.predict([]) == []
    (p,) = det.predict([""])
    assert not p.flagged


def test_long_posts_are_read_to_the_end(det):
    filler = "We went to the beach and had ice cream, then walked the dog along the promenade. " * 50
    ad = " Need runners tonight, £300 cash a day, 16+ ok, no questions, snap me @tonight_job_x1."
    s_long, s_filler = det.scores([filler + ad, filler])["recruitment"]
    assert s_long > s_filler  # a truncating model would give both the same score


def test_predict_uses_no_network(det, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert det.predict(["Szybka kasa, pisz na priv"])[0].lang == "pl"


def test_calibration_holds_on_the_bundled_test_split(det):
    from training.calibrate import expected_calibration_error
    from training.data import load_corpus

    test = load_corpus()["test"]
    s = det.scores(test["text"], batch_size=64)["recruitment"]
    y = np.array([l == "recruitment" for l in test["label"]])
    assert expected_calibration_error(s, y) <= 0.06
    pred = s >= det.config.threshold
    assert (pred == y).mean() >= 0.9


def test_shipped_model_is_small_and_safetensors_only():
    from detector.detector import DEFAULT_MODEL

    files = [p for p in DEFAULT_MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 15 * 2**20
    assert not [p for p in files if p.suffix in (".bin", ".pt", ".pkl", ".pickle")]
    cfg = json.loads((DEFAULT_MODEL / "detector_config.json").read_text())
    assert cfg["training"]["data_sha256"]


def test_language_identification_offline():
    from detector.langid import identify

    assert identify("Se buscan chavales para guardar unos paquetes en casa, escríbeme por privado") == "es"
    assert identify("Hurtige penge i aften, skriv til mig privat") == "da"
    assert identify("💰💰💰") == "und"
