"""Synthetic example posts for the "Try a post" tab, in ten languages.

Written for this demo: no real people, handles or phone numbers (handles are obviously
fake), and no operational detail beyond what news reports carry. Hard negatives are
included on purpose: a warning that quotes a recruiter, a real courier job, news, a
parent asking for advice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    lang: str
    kind: str  # "recruitment" or "hard negative" (benign but close to recruitment)
    text: str


EXAMPLES: list[Example] = [
    Example("en", "recruitment", "Need drivers tonight, easy money 💰 16+ ok, DM @fake_handle_123, no questions asked"),
    Example("en", "hard negative", "Police warning: a message going round says \"easy money tonight, DM me\". "
                                   "It is a trap to recruit teens. Never answer it and tell a parent."),
    Example("en", "hard negative", "Parcel courier wanted, full-time, employment contract, van provided, "
                                   "driving licence required. Apply on our company website."),
    Example("sv", "recruitment", "Snabba cash ikväll 💰 16+ ok, skriv DM till @fake_handle_123"),
    Example("fr", "recruitment", "Cherche jeunes pour charbonner, 150€ par jour, nourri logé, "
                                 "pas besoin d'expérience, contacte @faux_compte_42 sur Snap"),
    Example("fr", "hard negative", "Article : la police alerte sur les annonces « argent facile » qui visent "
                                   "les mineurs sur les réseaux sociaux. Parlez-en avec vos enfants."),
    Example("de", "recruitment", "Suche Leute für schnelles Geld, Bankkonto ausleihen, 500€ sofort, "
                                 "keine Fragen, schreib mir privat"),
    Example("de", "hard negative", "Kurierfahrer (m/w/d) in Vollzeit gesucht, unbefristeter Vertrag, "
                                   "Führerschein Klasse B. Bewerbung über unsere Webseite."),
    Example("nl", "recruitment", "Wie wil er snel geld verdienen? Even een pakketje ophalen in de haven, "
                                 "5000 euro, geen vragen, stuur een DM"),
    Example("es", "recruitment", "Busco chavales para un trabajito rápido, 300€ al día, discreción total, "
                                 "escríbeme por Telegram @cuenta_falsa_7"),
    Example("es", "hard negative", "Mi hijo de 15 años recibió un mensaje ofreciendo dinero fácil por "
                                   "guardar un paquete. ¿A quién debo avisar?"),
    Example("it", "recruitment", "Cerco ragazzi per consegne veloci, 200€ al giorno, niente domande, "
                                 "scrivimi in privato"),
    Example("pt", "recruitment", "Procuro jovens para ganhar dinheiro rápido, 100€ por dia, sem experiência, "
                                 "chama no Telegram"),
    Example("pl", "recruitment", "Szybka kasa dla młodych 💸 wystarczy twoje konto bankowe, 1000 zł od ręki, "
                                 "pisz prywatnie"),
    Example("da", "hard negative", "Politiet advarer: kriminelle lokker unge med hurtige penge på sociale "
                                   "medier. Tal med dine børn om det."),
]


def example_rows() -> list[list[str]]:
    """Rows for a ``gr.Examples`` table: text only (the language is detected)."""
    return [[e.text] for e in EXAMPLES]


def languages() -> set[str]:
    return {e.lang for e in EXAMPLES}
