"""Each augmenter transform does what it says, is deterministic, and keeps the label."""

import random
import unicodedata

import pytest

from detector.records import LabelledPost
from training.augment import TRANSFORMS, Augmenter

AD = "Need quick cash? Drivers wanted, 500€ a day, no questions asked. DM @fast_bucks_000 for the money"


def run(name, text=AD, seed=7):
    return TRANSFORMS[name](text, random.Random(seed))


def test_leetspeak_puts_digits_or_symbols_in_words():
    out = run("leetspeak")
    assert out != AD and len(out) == len(AD)
    changed = [(a, b) for a, b in zip(AD, out) if a != b]
    assert changed and all(b in "4@31!05$798" for _, b in changed)


def test_spacing_spreads_the_longest_words():
    out = run("spacing")
    assert any(f"{sep}".join("questions") in out for sep in " .-_")


def test_homoglyphs_look_the_same_but_are_not_latin():
    out = run("homoglyphs")
    assert out != AD and len(out) == len(AD)
    swapped = [b for a, b in zip(AD, out) if a != b]
    assert all(unicodedata.name(b).split()[0] in ("CYRILLIC", "GREEK") for b in swapped)


def test_emoji_codes_replace_money_words():
    out = run("emoji_codes")
    assert "cash" not in out and "money" not in out
    assert any(e in out for e in "💰💸💵💶🤑")


@pytest.mark.parametrize("seed", range(8))
def test_case_punct_keeps_the_words(seed):
    out = run("case_punct", seed=seed)
    assert out != AD
    assert "drivers" in out.lower()


def test_handle_amount_swap_changes_handle_and_amount():
    out = run("handle_amount_swap")
    assert "@fast_bucks_000" not in out and "500€" not in out
    assert "€" in out and "@" in out


def test_handle_amount_swap_adds_contact_when_nothing_to_swap():
    out = run("handle_amount_swap", "hola, curro fácil")
    assert out.startswith("hola, curro fácil @")


def test_code_switch_adds_one_fragment():
    out = run("code_switch")
    assert len(out.split()) > len(AD.split()) and AD.split()[0] in out


def test_augmenter_is_deterministic_and_order_free():
    a, b = Augmenter(seed=3), Augmenter(seed=3)
    texts = [AD, "Argent facile ce soir", "Snabba cash, skriv DM"]
    assert [a.augment(t) for t in texts] == [b.augment(t) for t in reversed(texts)][::-1]
    assert Augmenter(seed=4).augment(AD) != a.augment(AD) or Augmenter(seed=5).augment(AD) != a.augment(AD)


def test_augment_records_keeps_every_label_field():
    rec = LabelledPost(id="x", text=AD, lang="en", label="recruitment", categories=("drug_dealing",),
                       youth_targeting=True, genre="ad", note="recruitment: test")
    out = Augmenter(seed=1).augment_records([rec], variants=3)
    assert len(out) == 3 and len({r.text for r in out}) == 3
    for r in out:
        assert r.text != rec.text
        assert r.model_dump(exclude={"id", "text"}) == rec.model_dump(exclude={"id", "text"})


def test_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="unknown transforms"):
        Augmenter(transforms=("rot13",))
