"""Offline language identification with py3langid, whose model ships inside the package.

We restrict it to the languages our users post in (Europe and its larger diaspora
languages); a short or emoji-only post whose best guess is weak gets ``und``, and a post
whose two best guesses are both strong gets ``mixed`` (code-switching).
"""

from __future__ import annotations

from functools import lru_cache

from .taxonomy import MIXED_LANG, UNKNOWN_LANG

LANGUAGES = ("en", "fr", "de", "nl", "es", "it", "sv", "pt", "pl", "da", "no", "fi", "cs", "sk", "sl", "hr",
             "sr", "bs", "hu", "ro", "bg", "el", "tr", "ar", "ru", "uk", "lt", "lv", "et", "ga", "mt", "sq",
             "ca", "eu", "gl", "is", "fa", "ur", "hi", "zh", "so", "ku")
MIN_CONFIDENCE = 0.5
MIXED_SECOND = 0.25
# Close relatives split the probability on ordinary monolingual posts; two of them at the
# top is uncertainty between neighbours, not code-switching.
RELATED = [{"es", "pt", "gl", "ca", "it"}, {"da", "no", "sv"}, {"nl", "de"}, {"cs", "sk", "pl"},
           {"hr", "sr", "bs", "sl"}, {"ru", "uk", "bg"}]


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([l for l in LANGUAGES if l in ident.nb_classes])
    return ident


def identify(text: str) -> str:
    """ISO 639-1 code, ``mixed`` or ``und``."""
    if sum(ch.isalpha() for ch in text) < 3:
        return UNKNOWN_LANG
    ranked = _identifier().rank(text)
    (top, p1), (second, p2) = ranked[0], ranked[1]
    related = any({top, second} <= group for group in RELATED)
    if p2 >= MIXED_SECOND and p1 + p2 >= 0.8 and not related:
        return MIXED_LANG
    return top if p1 >= 0.3 else UNKNOWN_LANG
