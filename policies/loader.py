"""Load a policy from YAML (or JSON) with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from .schema import Policy


LIBRARY_DIR = Path(__file__).resolve().parent / "library"
# What a scan applies when no policy is given.
DEFAULT_POLICY = LIBRARY_DIR / "default.yaml"


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class PolicyError(ValueError):
    def __init__(self, problems: list[PolicyProblem]):
        self.problems = problems
        super().__init__("invalid policy:\n" + "\n".join(f"  {p}" for p in problems))


def _line_of(node, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest ancestor that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key) or (key == "in_" and k.value == "in")), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _field(loc: tuple) -> str:
    return ".".join("in" if p == "in_" else str(p) for p in loc)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError([PolicyProblem(source, mark.line + 1 if mark else None, "",
                                         f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from exc
    if not isinstance(data, dict):
        raise PolicyError([PolicyProblem(source, 1, "", "a policy is a mapping with name, version, owner and rules")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(PolicyProblem(source, _line_of(node, loc), _field(loc), e["msg"].removeprefix("Value error, ")))
        raise PolicyError(problems) from exc
    problems = [PolicyProblem(source, _line_of(node, loc), _field(loc), msg) for loc, msg in semantic_problems(policy)]
    if problems:
        raise PolicyError(problems)
    return policy


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([PolicyProblem(str(path), None, "", f"cannot read: {exc.strerror or exc}")]) from exc
    return parse_policy(text, str(path))


def semantic_problems(policy: Policy) -> list[tuple[tuple, str]]:
    """What the schema cannot see: duplicate ids, unknown signals, rules that can never fire."""
    from detector.signals import PATTERN_DIR, SIGNAL_TYPES, load_patterns

    known_ids = {e["id"] for p in PATTERN_DIR.glob("*.jsonl") for e in load_patterns(p)}
    out: list[tuple[tuple, str]] = []
    seen: dict[str, int] = {}
    catch_all: str | None = None
    for i, rule in enumerate(policy.rules):
        if rule.id in seen:
            out.append((("rules", i, "id"), f"duplicate rule id {rule.id!r} (first at rule {seen[rule.id]})"))
        seen.setdefault(rule.id, i)
        sig = rule.when.signals
        if sig:
            for key in ("any_of", "all_of", "none_of"):
                for j, name in enumerate(getattr(sig, key)):
                    if name not in SIGNAL_TYPES and name not in known_ids:
                        out.append((("rules", i, "when", "signals", key, j),
                                    f"unknown signal {name!r}; use a type ({', '.join(SIGNAL_TYPES)}) or a pattern id"))
            both = set(sig.all_of) & set(sig.none_of)
            if both:
                out.append((("rules", i, "when", "signals"), f"can never fire: {sorted(both)} both required and excluded"))
        w = rule.when
        if w.flagged is True and w.recruitment and w.recruitment.max is not None and w.recruitment.max <= 0.05:
            out.append((("rules", i, "when"), "can never fire: requires a flagged post with a recruitment score below 0.05"))
        if w.text and w.text.keywords and not w.text.regex:
            wanted = {k.lower() for k in w.text.keywords}
            if wanted <= {k.lower() for k in w.text.exclude_keywords}:
                out.append((("rules", i, "when", "text"), "can never fire: every keyword is also excluded"))
        if rule.state == "live":
            if catch_all is not None:
                out.append((("rules", i), f"can never fire: live rule {catch_all!r} above it matches every post"))
            elif w.is_empty:
                catch_all = rule.id
    return out


def dump_policy(policy: Policy) -> dict:
    """The canonical JSON-able form (aliases as written in YAML, empty fields left out)."""
    return json.loads(policy.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=False))
