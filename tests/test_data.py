"""The seed corpus: schema of every record, quotas, split grouping, test-only languages, loaders."""

import csv
import json
from collections import Counter

import pytest

from detector.taxonomy import CATEGORIES, HARD_NEGATIVE_KINDS
from training.data import (SPLITS, TEST_ONLY_LANGS, TRAIN_LANGS, DataError, load_corpus, load_labelled,
                           read_corpus, read_labelled, read_splits, save_dataset)
from training.diversity import diversity, groups_from_pairs, near_duplicate_pairs
from training.splits import source_language
from training.stats import corpus_stats, note_kind


@pytest.fixture(scope="module")
def corpus():
    return read_corpus()


def test_every_record_matches_the_schema(corpus):
    # read_corpus raises DataError naming every bad row; here we also check it found them all
    assert len(corpus) >= 6000
    assert len({r.id for r in corpus}) == len(corpus)


def test_language_quotas(corpus):
    by_lang = Counter(r.lang for r in corpus)
    for lang in TRAIN_LANGS:
        assert by_lang[lang] >= 600, lang
    for lang in TEST_ONLY_LANGS:
        assert by_lang[lang] >= 100, lang


def test_label_balance_categories_and_youth(corpus):
    stats = corpus_stats(corpus, with_diversity=False)
    total = stats["all"]
    assert 0.42 <= total.recruitment / total.posts <= 0.48
    assert 0.45 <= total.youth_recruitment / total.recruitment <= 0.55
    assert total.multi_category >= 0.1 * total.recruitment
    for lang in TRAIN_LANGS:
        for c in CATEGORIES:
            assert stats[lang].categories[c] >= 35, (lang, c)


def test_benign_posts_are_mostly_hard_negatives(corpus):
    benign = [r for r in corpus if not r.is_recruitment]
    kinds = Counter(note_kind(r) for r in benign)
    assert None not in kinds, "every benign corpus post names its kind in the note"
    hard = sum(kinds[k] for k in HARD_NEGATIVE_KINDS)
    assert hard / len(benign) >= 0.8
    for k in HARD_NEGATIVE_KINDS:
        assert kinds[k] >= 0.05 * len(benign), k


def test_no_more_than_three_posts_share_a_skeleton(corpus):
    for lang in TRAIN_LANGS + TEST_ONLY_LANGS:
        d = diversity([r.text for r in corpus if r.lang == lang])
        assert d.largest_skeleton <= 3, lang
        assert d.distinct_2 > 0.5, lang


def test_splits_cover_corpus_and_never_split_a_near_duplicate_group(corpus):
    assignment = read_splits()
    assert set(assignment) == {r.id for r in corpus}
    assert set(assignment.values()) == set(SPLITS)
    texts = [r.text for r in corpus]
    # Recompute the groups independently of the stored file: no group may straddle splits.
    pairs = near_duplicate_pairs(texts)
    for i, j, _ in pairs:
        assert assignment[corpus[i].id] == assignment[corpus[j].id], (corpus[i].id, corpus[j].id)


def test_test_only_languages_are_only_in_test(corpus):
    assignment = read_splits()
    for r in corpus:
        if r.lang in TEST_ONLY_LANGS or source_language(r) in TEST_ONLY_LANGS:
            assert assignment[r.id] == "test", r.id
    ds = load_corpus()
    assert not set(ds["train"]["lang"]) & set(TEST_ONLY_LANGS)
    assert not set(ds["validation"]["lang"]) & set(TEST_ONLY_LANGS)
    assert set(TEST_ONLY_LANGS) <= set(ds["test"]["lang"])
    assert 0.75 <= len(ds["train"]) / len(corpus) <= 0.85


def test_groups_from_pairs_joins_chains():
    assert groups_from_pairs(5, [(0, 1, 0.9), (1, 3, 0.8)]) == [0, 0, 2, 0, 4]


def test_near_duplicates_are_found_despite_handles_and_amounts():
    a = "Need drivers this weekend, 500€ a day, no questions asked, DM @fast_cash_01 now"
    b = "Need drivers this weekend, 650€ a day, no questions asked, DM @quick_job_77 now"
    c = "Lovely sunset over the harbour tonight, the boats look like paintings"
    assert [(i, j) for i, j, _ in near_duplicate_pairs([a, b, c])] == [(0, 1)]


ROW = {"id": "u1", "text": "hola", "lang": "es", "label": "benign", "categories": [], "youth_targeting": False,
       "genre": "other", "note": ""}


def test_user_csv_with_column_mapping(tmp_path):
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "body", "lang", "label", "categories", "youth_targeting", "genre"])
        w.writerow(["a", "curro fácil", "es", "recruitment", "drug_dealing;theft", "yes", "ad"])
        w.writerow(["b", "hola", "es", "benign", "", "no", "other"])
        w.writerow(["c", "x", "es", "recruitment", "", "no", "ad"])
        w.writerow(["d", "multi\nline cell", "es", "benign", "", "maybe", "other"])
    good, bad = read_labelled(path, {"id": "post_id", "text": "body"})
    assert [r.id for r in good] == ["a", "b"]
    assert good[0].categories == ("drug_dealing", "theft") and good[0].youth_targeting
    assert [(e.line, e.field) for e in bad] == [(4, "categories"), (6, "youth_targeting")]
    assert all(e.file == str(path) for e in bad)


def test_user_parquet_and_jsonl_with_mapping(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{**ROW, "id": "p1"}, {**ROW, "id": "p2", "label": "nope"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    good, bad = read_labelled(tmp_path / "x.parquet")
    assert [r.id for r in good] == ["p1"] and (bad[0].line, bad[0].field) == (2, "label")

    (tmp_path / "x.jsonl").write_text(json.dumps({**ROW, "message": ROW["text"], "text": None}) + "\n\n"
                                      + json.dumps({**ROW, "id": "j2", "message": "hey"}) + "\n")
    good, bad = read_labelled(tmp_path / "x.jsonl", {"text": "message"}, defaults={"note": "imported"})
    assert [r.id for r in good] == ["u1", "j2"] and good[1].text == "hey" and good[1].note == ""


def test_load_labelled_raises_with_every_bad_row(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**ROW, "genre": "rant"}) + "\n" + "{oops\n")
    with pytest.raises(DataError) as exc:
        load_labelled([path])
    assert f"{path}:1 field 'genre'" in str(exc.value) and f"{path}:2" in str(exc.value)


def test_unknown_column_map_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown fields"):
        read_labelled(tmp_path / "x.jsonl", {"body": "text"})


def test_save_dataset_roundtrip(tmp_path):
    from datasets import load_from_disk

    ds = load_labelled([_write(tmp_path, [ROW, {**ROW, "id": "u2"}])])
    out = save_dataset(ds, tmp_path / "saved")
    assert load_from_disk(str(out))["id"] == ["u1", "u2"]
    assert [json.loads(l)["id"] for l in open(out / "data.jsonl")] == ["u1", "u2"]


def _write(tmp_path, rows):
    p = tmp_path / "rows.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_broken_csv_record_is_reported_not_dropped(tmp_path):
    path = tmp_path / "broken.csv"
    huge = "x" * 200_000  # beyond the csv module's field limit: it raises and cannot resume
    path.write_text("id,text,lang,label,categories,youth_targeting,genre\n"
                    "a,hola,es,benign,,no,other\n"
                    f"b,{huge},es,benign,,no,other\n"
                    "c,adios,es,benign,,no,other\n")
    good, bad = read_labelled(path)
    assert [r.id for r in good] == ["a"]
    assert len(bad) == 1 and bad[0].line == 3 and "not read" in bad[0].message and bad[0].file == str(path)
