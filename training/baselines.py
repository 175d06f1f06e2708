"""Baselines the detector must beat, trained and tuned on exactly the detector's data.

- ``KeywordBaseline``: a multilingual lexicon of recruitment cues, no training.
- ``TfidfBaseline``: character n-gram TF-IDF with logistic regressions.
- ``EmbeddingBaseline``: logistic regressions on frozen backbone embeddings.

Each exposes ``scores(texts)`` with the detector's keys (``recruitment``, ``youth``,
``categories``) and thresholds chosen on validation with the detector's own rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from detector.normalize import normalize
from detector.records import LabelledPost
from detector.taxonomy import CATEGORIES

from .calibrate import choose_threshold

# Cues recruiters use, per family: money, secrecy, contact moves, youth, tasks. Each
# distinct cue found adds to the score; none alone decides.
LEXICON = {
    "money": r"quick cash|easy money|fast money|£\d|€\d|\d+ ?k\b|argent facile|oseille|billets|snel geld|makkelijk geld|doekoe|"
             r"schnelles geld|leichtes geld|dinero f[aá]cil|pasta f[aá]cil|soldi facili|snabba cash|snabba pengar|"
             r"dinheiro f[aá]cil|guita|💰|💸|💵|💶|🤑|szybka kasa|hurtige penge",
    "secrecy": r"no questions|discreet|discret|discrète|sans question|geen vragen|keine fragen|sin preguntas|"
               r"senza domande|inga frågor|sem perguntas|🤫|delete (the|this) chat|lösch|supprime",
    "contact": r"\bdm\b|\bpm\b|\bsnap\b|telegram|\btg\b|signal|inbox|priv[ée]|privé|\bmp\b|privat|priv\b|pv\b|"
               r"écris-moi|stuur|schreib|escr[ií]beme|scrivimi|skriv|manda msg|hmu|hit me up|add me",
    "youth": r"\b1[3-7] ?\+|\b1[3-7] ?ans|\b1[3-7] ?jaar|\b1[3-7] ?jahre|\b1[3-7] ?años|\b1[3-7] ?anni|\b1[3-7] ?år|"
             r"\b1[3-7] ?anos|school|école|schule|escuela|scuola|skola|escola|pocket money|argent de poche|zakgeld|"
             r"taschengeld|no id|sans papiers|menor|minderjarig|minorenn",
    "task": r"runner|county lines|drop|charbonneur|chouf|guetteur|nourrice|uithaler|pakketje|klus|bunker|läufer|"
            r"kurier|courier|coursier|repartidor|corriere|bud\b|estafeta|avi[aã]o|uppdrag|mission|missione|misi[oó]n|"
            r"missão|opdracht|auftrag|job|jobb|taf|curro|lavoretto|biscate|hold a bag|garder un sac|"
            r"account|compte|rekening|konto|cuenta|conto|conta|card|carte|kaart|karte|tarjeta|carta|cartão|"
            r"🍃|❄️|💊|🔫|💣|🧨|📦",
}
_PATTERNS = {k: re.compile(v, re.IGNORECASE) for k, v in LEXICON.items()}


@dataclass
class Thresholds:
    recruitment: float = 0.5
    youth: float = 0.5
    categories: dict[str, float] = field(default_factory=lambda: {c: 0.5 for c in CATEGORIES})


def _targets(records: list[LabelledPost]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rec = np.array([r.is_recruitment for r in records], dtype=int)
    youth = np.array([r.youth_targeting for r in records], dtype=int)
    cats = np.array([[c in r.categories for c in CATEGORIES] for r in records], dtype=int)
    return rec, youth, cats


class _Tuned:
    thresholds: Thresholds

    def scores(self, texts: list[str]) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def tune(self, validation: list[LabelledPost], max_fpr: float) -> None:
        s = self.scores([r.text for r in validation])
        rec, youth, cats = _targets(validation)
        m = rec == 1
        self.thresholds = Thresholds(
            choose_threshold(s["recruitment"], rec, max_fpr=max_fpr),
            choose_threshold(s["youth"][m], youth[m]),
            {c: choose_threshold(s["categories"][m, j], cats[m, j]) for j, c in enumerate(CATEGORIES)},
        )


class KeywordBaseline(_Tuned):
    name = "keyword lexicon"

    def __init__(self) -> None:
        self.thresholds = Thresholds()

    def fit(self, train: list[LabelledPost]) -> "KeywordBaseline":
        return self

    def scores(self, texts: list[str]) -> dict[str, np.ndarray]:
        hits = np.array([[bool(p.search(normalize(t))) for p in _PATTERNS.values()] for t in texts], dtype=float)
        rec = hits.sum(1) / len(_PATTERNS)
        youth = hits[:, list(_PATTERNS).index("youth")]
        # A lexicon says nothing about the category: every category gets the same score.
        cats = np.repeat(rec[:, None], len(CATEGORIES), axis=1)
        return {"recruitment": rec, "youth": youth, "categories": cats}


class _LinearHeads(_Tuned):
    """Logistic regressions for recruitment, youth (all posts) and categories (recruitment posts)."""

    def __init__(self) -> None:
        self.thresholds = Thresholds()

    def features(self, texts: list[str], fit: bool = False):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, train: list[LabelledPost]) -> "_LinearHeads":
        from sklearn.linear_model import LogisticRegression

        X = self.features([r.text for r in train], fit=True)
        rec, youth, cats = _targets(train)
        lr = dict(max_iter=3000, C=self.C)
        self.rec = LogisticRegression(**lr).fit(X, rec)
        self.youth = LogisticRegression(**lr).fit(X, youth)
        m = np.flatnonzero(rec == 1)
        self.cats = [LogisticRegression(**lr).fit(X[m], cats[m, j]) for j in range(len(CATEGORIES))]
        return self

    def scores(self, texts: list[str]) -> dict[str, np.ndarray]:
        X = self.features(texts)
        return {"recruitment": self.rec.predict_proba(X)[:, 1], "youth": self.youth.predict_proba(X)[:, 1],
                "categories": np.stack([c.predict_proba(X)[:, 1] for c in self.cats], axis=1)}


class TfidfBaseline(_LinearHeads):
    name = "TF-IDF char n-gram LR"
    C = 10.0

    def features(self, texts: list[str], fit: bool = False):
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [normalize(t) for t in texts]
        if fit:
            self.vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                       max_features=200_000)
            return self.vec.fit_transform(texts)
        return self.vec.transform(texts)


class EmbeddingBaseline(_LinearHeads):
    name = "frozen-embedding LR"
    C = 4.0

    def __init__(self, encoder=None) -> None:
        super().__init__()
        from detector.backbone import Encoder

        self.encoder = encoder or Encoder.load()

    def features(self, texts: list[str], fit: bool = False):
        return self.encoder.embed([normalize(t) for t in texts], batch_size=64)
