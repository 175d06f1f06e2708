"""Typed records and JSON Lines reading: bad lines name file, line and field."""

import json


from detector import taxonomy
from detector.jsonl import RecordError, iter_jsonl
from detector.records import LabelledPost, Post


def write(tmp_path, lines):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\n".join(l if isinstance(l, bytes) else l.encode() for l in lines) + b"\n")
    return path


GOOD = {"id": "x1", "text": "hi", "lang": "en", "label": "recruitment", "categories": ["theft"],
        "youth_targeting": True, "genre": "ad", "note": ""}


def test_every_bad_line_is_reported_with_its_place(tmp_path):
    path = write(tmp_path, [
        json.dumps(GOOD),
        json.dumps({**GOOD, "categories": []}),
        json.dumps({**GOOD, "label": "benign"}),
        json.dumps({**GOOD, "categories": ["arson"]}),
        json.dumps({**GOOD, "lang": "English"}),
        "{not json",
        b"\xff\xfe bad bytes",
        "[1, 2]",
        "",
        json.dumps({**GOOD, "id": "x2"}),
    ])
    out = list(iter_jsonl(path, LabelledPost))
    good = [r for r in out if isinstance(r, LabelledPost)]
    bad = [r for r in out if isinstance(r, RecordError)]
    assert [r.id for r in good] == ["x1", "x2"]
    assert [(e.line, e.field) for e in bad] == [
        (2, "categories"), (3, "categories"), (4, "categories.0"), (5, "lang"), (6, None), (7, None), (8, None)]
    assert all(str(path) in str(e) for e in bad)


def test_post_lang_is_optional_and_extra_fields_ignored():
    p = Post.model_validate({"id": "1", "text": "x", "platform": "tg"})
    assert p.lang is None


def test_taxonomy_is_complete():
    assert taxonomy.CATEGORIES == ("drug_dealing", "trafficking_logistics", "money_mule", "fraud", "theft",
                                   "violence_for_hire", "weapons_explosives")
    assert set(taxonomy.GENRES) == {"ad", "direct_message", "job_ad", "news", "awareness", "discussion",
                                    "fiction_lyrics", "other"}
    assert taxonomy.RECORD_FIELDS == tuple(LabelledPost.model_fields)


def test_shared_dev_set_matches_schema(dev_path):
    errors = [r for r in iter_jsonl(dev_path, LabelledPost) if isinstance(r, RecordError)]
    assert errors == []
