"""The Label Studio labelling config, generated from ``detector/taxonomy.py``, and a check that a
project's config still matches the taxonomy (labels change; old projects do not follow).

Control names equal the record fields (``label``, ``categories``, ``youth_targeting``,
``genre``, ``note``) so that pulling annotations is a direct mapping. Detected signals are
pre-annotated as spans of the ``signals`` labels, which highlights them in the text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from detector.signals import SIGNAL_TYPES
from detector.taxonomy import (CATEGORY_DESCRIPTIONS, GENRE_DESCRIPTIONS, LABEL_DESCRIPTIONS, RECRUITMENT,
                               YOUTH_TARGETING_DESCRIPTION)

from .connection import AnnotationError

YES, NO = "yes", "no"
TEXT = "text"  # the object tag and the task data field holding the post
REVIEW = "review"  # task data field: why a task was sent back for review (empty otherwise)
SIGNALS = "signals"
FIELDS = ("label", "categories", "youth_targeting", "genre", "note")
# Distinct, light colours so that highlighted signals stay readable.
_COLOURS = ("#ffd54f", "#81d4fa", "#ce93d8", "#ffab91", "#a5d6a7", "#b0bec5", "#f48fb1", "#e6ee9c",
            "#80cbc4", "#bcaaa4", "#ffcc80", "#9fa8da")


class ConfigMismatch(AnnotationError):
    """The project's labelling config no longer matches the taxonomy."""


def _choices(name: str, options: dict[str, str], kind: str, extra: str = "") -> str:
    lines = [f'  <Choices name="{name}" toName="{TEXT}" choice="{kind}" showInline="true"{extra}>']
    lines += [f"    <Choice value={quoteattr(v)} hint={quoteattr(h)}/>" for v, h in options.items()]
    return "\n".join(lines + ["  </Choices>"])


def labelling_config() -> str:
    """The labelling config XML for the current taxonomy."""
    signal_labels = "\n".join(
        f'    <Label value={quoteattr(t)} hint={quoteattr(h)} background="{_COLOURS[i % len(_COLOURS)]}"/>'
        for i, (t, h) in enumerate(SIGNAL_TYPES.items()))
    parts = [
        "<View>",
        f'  <Header value="${REVIEW}" size="6"/>',
        '  <Header value="Post (detected signals are highlighted; fix or add spans if you like)"/>',
        f'  <Labels name="{SIGNALS}" toName="{TEXT}" showInline="true">',
        signal_labels,
        "  </Labels>",
        f'  <Text name="{TEXT}" value="${TEXT}" granularity="symbol"/>',
        '  <Header value="Does the post recruit someone into crime?"/>',
        _choices("label", dict(LABEL_DESCRIPTIONS), "single-radio", ' required="true"'),
        '  <Header value="Categories (recruitment only; one or more)"/>',
        _choices("categories", dict(CATEGORY_DESCRIPTIONS), "multiple",
                 f' visibleWhen="choice-selected" whenTagName="label" whenChoiceValue="{RECRUITMENT}"'),
        '  <Header value="Does it target young people?"/>',
        _choices("youth_targeting", {YES: YOUTH_TARGETING_DESCRIPTION, NO: "No sign of aiming at minors."},
                 "single-radio", ' required="true"'),
        '  <Header value="Genre"/>',
        _choices("genre", dict(GENRE_DESCRIPTIONS), "single-radio", ' required="true"'),
        '  <Header value="Note (optional: why, or what a reviewer should know)"/>',
        f'  <TextArea name="note" toName="{TEXT}" rows="2" maxSubmissions="1" editable="true"/>',
        "</View>",
    ]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Control:
    tag: str
    to_name: str | None
    values: frozenset[str]


def controls(xml: str) -> dict[str, Control]:
    """Control tags by name: their type, target and option values."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ConfigMismatch(f"the project's labelling config is not valid XML ({exc})") from exc
    out = {}
    for el in root.iter():
        if el.tag in ("Choices", "Labels", "TextArea", "Text") and el.get("name"):
            values = frozenset(c.get("value", "") for c in el if c.tag in ("Choice", "Label"))
            to = el.get("value") if el.tag == "Text" else el.get("toName")
            out[el.get("name")] = Control(el.tag, to, values)
    return out


def config_problems(project_xml: str) -> list[str]:
    """Every way ``project_xml`` differs from the config the taxonomy gives now (empty if none)."""
    want, have = controls(labelling_config()), controls(project_xml)
    problems = []
    for name, w in want.items():
        h = have.get(name)
        if h is None:
            problems.append(f"control '{name}' ({w.tag}) is missing")
            continue
        if h.tag != w.tag or h.to_name != w.to_name:
            problems.append(f"control '{name}' is <{h.tag} → {h.to_name}>, expected <{w.tag} → {w.to_name}>")
        if w.values - h.values:
            problems.append(f"control '{name}' lacks {sorted(w.values - h.values)}")
        if h.values - w.values:
            problems.append(f"control '{name}' has values no longer in the taxonomy: {sorted(h.values - w.values)}")
    return problems


def check_project_config(project) -> None:
    problems = config_problems(project.label_config or "")
    if problems:
        raise ConfigMismatch(
            f"the labelling config of project {project.title!r} (id {project.id}) no longer matches "
            f"detector/taxonomy.py:\n  " + "\n  ".join(problems)
            + "\nRun `recruitwatch annotate init --update-config` to replace it (Label Studio refuses if "
              "existing annotations use removed values).")
