"""A tiny training run, end to end: a few steps on a handful of posts, then load and predict."""

import json

from typer.testing import CliRunner

from detector import Detector
from detector.early_exit import Probe
from detector.model import DetectorNet
from detector.screen import Screen
from detector.taxonomy import CATEGORIES
from training.calibrate import choose_threshold, expected_calibration_error, fit_temperature
from training.data import read_corpus, read_splits
from training.train import TrainOptions, refit, train

import numpy as np


def test_tiny_training_run_end_to_end(tmp_path):
    corpus = read_corpus()
    splits = read_splits()
    tr = [r for r in corpus if splits[r.id] == "train"][:24]
    va = [r for r in corpus if splits[r.id] == "validation"][:16]
    result = train(tr, va, tmp_path / "m", TrainOptions(max_steps=3, batch_size=8, epochs=1, lora_layers=2))
    assert result.steps == 3
    det = Detector.load(tmp_path / "m")
    preds = det.predict(["Quick cash tonight, DM me", "Apple pie recipe"])
    assert len(preds) == 2 and all(0 <= p.recruitment <= 1 for p in preds)
    cfg = json.loads((tmp_path / "m" / "detector_config.json").read_text())
    assert cfg["training"]["train_posts"] == 24 and cfg["training"]["augmented_posts"] > 0
    assert cfg["training"]["options"]["refit_heads"] is True
    assert set(cfg["category_thresholds"]) == set(CATEGORIES)
    # The scan's cheap stages are fitted with the model.
    screen, probe = Screen.load(tmp_path / "m"), Probe.load(tmp_path / "m")
    assert screen is not None and probe is not None and np.isfinite(probe.config.gates).all()
    assert probe.weights.shape == (len(probe.config.layers), det.net.encoder.config.hidden_size)
    # What was saved is what loads: a second load scores identically.
    again = Detector.load(tmp_path / "m").scores(["Quick cash tonight, DM me"])["recruitment"]
    assert np.allclose(again, [preds[0].recruitment], atol=1e-6)
    # Every head is blended with its lexical head, and youth is scored given recruitment.
    assert det.lexical is not None and len(det.lexical.blend_weights) == 2 + len(CATEGORIES)
    assert cfg["youth_given_recruitment"] is True and cfg["training"]["heads"]["lexical"]["features"] > 100

    # Refitting after the fact (here with more posts) keeps the adapters and records what it did.
    def adapters():
        return {k: v for k, v in DetectorNet.load(tmp_path / "m", merge=False).trainable_state_dict().items() if "lora_" in k}

    before = adapters()
    more = [r for r in corpus if splits[r.id] == "train"][24:48]
    figures = refit(tmp_path / "m", tr + more, va, screen=False, version="refitted")
    cfg = json.loads((tmp_path / "m" / "detector_config.json").read_text())
    assert cfg["training"]["refit"]["train_posts"] == 48 and cfg["training"]["train_posts"] == 24
    assert figures["heads"]["lexical"]["train_posts"] > 48  # with the augmented copies
    assert Detector.load(tmp_path / "m").config.threshold == figures["threshold"]
    assert Detector.load(tmp_path / "m").version.endswith("@refitted") and figures["version"] == "refitted"
    after = adapters()
    assert before and after.keys() == before.keys()
    assert all(np.array_equal(after[k].numpy(), before[k].numpy()) for k in before)


def test_train_command_with_extra_file(tmp_path):
    from cli.main import app

    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"id": "x1", "text": "yo need a runner 2nite, 200 cash", "lang": "en",
                                 "label": "recruitment", "categories": ["drug_dealing"], "youth_targeting": False,
                                 "genre": "direct_message", "note": ""}) + "\n")
    result = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "m2"), "--extra", str(extra), "--max-steps", "1",
                                      "--lora-layers", "1", "--batch-size", "4", "--no-refit-heads",
                                      "--no-lexical"])
    assert result.exit_code == 0, result.output
    assert "added 1 labelled posts" in result.output
    assert (tmp_path / "m2" / "adapter_and_heads.safetensors").is_file()
    assert not (tmp_path / "m2" / "lexical.json").exists()
    plain = Detector.load(tmp_path / "m2")
    assert plain.lexical is None and plain.config.youth_given_recruitment is False

    # `recruitwatch refit` recalibrates it with its stored options (no heads to refit, no
    # lexical heads) and gives it the version asked for.
    result = CliRunner().invoke(app, ["refit", str(tmp_path / "m2"), "--no-screen", "--version", "7"])
    assert result.exit_code == 0, result.output
    assert "(version 7)" in result.output
    again = Detector.load(tmp_path / "m2")
    assert again.version.endswith("@7") and again.lexical is None


def test_temperature_fixes_overconfidence():
    rng = np.random.default_rng(0)
    y = rng.random(4000) < 0.5
    true_logit = np.where(y, 1.0, -1.0) + rng.normal(0, 1, 4000)
    over = true_logit * 4  # an overconfident model
    t = fit_temperature(over, y)
    p_raw, p_cal = 1 / (1 + np.exp(-over)), 1 / (1 + np.exp(-over / t))
    assert t > 2 and expected_calibration_error(p_cal, y) < expected_calibration_error(p_raw, y) / 2


def test_threshold_respects_fpr_cap():
    y = np.array([0] * 90 + [1] * 10)
    p = np.concatenate([np.linspace(0, 0.6, 90), np.linspace(0.4, 1, 10)])
    t = choose_threshold(p, y, max_fpr=0.02)
    assert ((p >= t) & (y == 0)).sum() / 90 <= 0.02
