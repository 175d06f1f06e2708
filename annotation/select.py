"""Which posts annotators should see: named strategies, alone or mixed.

- ``uncertainty``: scores nearest the decision threshold (in logit space), where a label
  teaches the model most;
- ``disagreement``: the model, the policy and the signals do not agree about a post;
- ``diverse``: one representative per k-means cluster of the model's embeddings, so a batch
  is not 200 copies of one ad;
- ``random``: a uniform sample, the only one that gives unbiased estimates of prevalence
  and precision.

A mix such as ``uncertainty=0.5,diverse=0.3,random=0.2`` splits the budget; each strategy
chooses among the posts the ones before it left.
"""

from __future__ import annotations

import math
import random as _random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from detector.records import Post, Prediction
from detector.signals import Signal

STRATEGIES = ("uncertainty", "disagreement", "diverse", "random")
# Signal types that point towards recruitment on their own; "emoji" and "urgency" are too common.
RISK_SIGNALS = frozenset({"money", "contact", "secrecy", "age_school", "no_experience", "travel", "drug", "weapon",
                          "port"})
ACTING = frozenset({"label", "review", "escalate", "remove"})


@dataclass
class Scored:
    """A post with everything the strategies and the pre-annotation need."""

    line: int
    post: Post
    prediction: Prediction
    signals: list[Signal] = field(default_factory=list)
    action: str | None = None  # the policy's action, when a policy was given


@dataclass(frozen=True)
class Choice:
    index: int  # into the list of candidates
    strategy: str
    reason: str


def parse_mix(spec: str) -> dict[str, float]:
    """``"uncertainty"`` or ``"uncertainty=0.5,random=0.5"`` → shares that sum to 1."""
    shares: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, share = part.partition("=")
        name = name.strip()
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
        try:
            value = float(share) if share else 1.0
        except ValueError:
            raise ValueError(f"strategy share {share!r} for {name!r} is not a number") from None
        if value < 0:
            raise ValueError(f"strategy share for {name!r} is negative")
        shares[name] = shares.get(name, 0.0) + value
    total = sum(shares.values())
    if not shares or total <= 0:
        raise ValueError(f"no strategy in {spec!r}; choose from {', '.join(STRATEGIES)}")
    return {k: v / total for k, v in shares.items()}


def quotas(shares: dict[str, float], budget: int) -> dict[str, int]:
    """Largest-remainder rounding, so the quotas sum exactly to the budget."""
    raw = {k: v * budget for k, v in shares.items()}
    out = {k: int(math.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[: budget - sum(out.values())]:
        out[k] += 1
    return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def margin(p: float, threshold: float) -> float:
    return abs(_logit(p) - _logit(threshold))


def disagreement(item: Scored, threshold: float) -> tuple[int, str]:
    """(how many of policy and signals disagree with the model, and how)."""
    model = item.prediction.recruitment >= threshold
    risk = sorted({s.type for s in item.signals} & RISK_SIGNALS)
    others = {"signals": len(risk) >= 2}
    if item.action is not None:
        others["policy"] = item.action in ACTING
    against = [k for k, v in others.items() if v != model]
    if not against:
        return 0, ""
    describe = {"policy": f"policy '{item.action}'", "signals": f"signals: {', '.join(risk) or 'none'}"}
    return len(against), (f"model {item.prediction.recruitment:.2f} ({'flags' if model else 'does not flag'}) "
                          f"against {'; '.join(describe[k] for k in against)}")


def pick_uncertainty(items: Sequence[Scored], pool: list[int], n: int, threshold: float, **_) -> list[Choice]:
    ranked = sorted(pool, key=lambda i: margin(items[i].prediction.recruitment, threshold))
    return [Choice(i, "uncertainty", f"score {items[i].prediction.recruitment:.2f}, threshold {threshold:.2f}")
            for i in ranked[:n]]


def pick_disagreement(items: Sequence[Scored], pool: list[int], n: int, threshold: float, **_) -> list[Choice]:
    scored = [(i, *disagreement(items[i], threshold)) for i in pool]
    # Among equal disagreement, the less certain model score first.
    scored.sort(key=lambda t: (-t[1], margin(items[t[0]].prediction.recruitment, threshold)))
    out = [Choice(i, "disagreement", why) for i, d, why in scored if d > 0][:n]
    return out


def pick_random(items: Sequence[Scored], pool: list[int], n: int, seed: int = 13, **_) -> list[Choice]:
    chosen = _random.Random(seed).sample(pool, min(n, len(pool)))
    return [Choice(i, "random", "uniform sample") for i in chosen]


def pick_diverse(items: Sequence[Scored], pool: list[int], n: int, embed: Callable[[list[str]], np.ndarray] | None = None,
                 seed: int = 13, **_) -> list[Choice]:
    if n <= 0 or not pool:
        return []
    if embed is None:
        raise ValueError("the 'diverse' strategy needs embeddings")
    if n >= len(pool):
        return [Choice(i, "diverse", "every remaining post") for i in pool]
    from sklearn.cluster import KMeans

    X = np.asarray(embed([items[i].post.text for i in pool]), dtype=np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-12  # cosine geometry, as the encoder was trained
    km = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(X)
    sizes = np.bincount(km.labels_, minlength=n)
    out = []
    for c in np.argsort(-sizes):
        members = np.flatnonzero(km.labels_ == c)
        if not len(members):
            continue
        d = np.linalg.norm(X[members] - km.cluster_centers_[c], axis=1)
        j = int(members[np.argmin(d)])
        out.append(Choice(pool[j], "diverse", f"closest to the centre of a cluster of {sizes[c]} posts"))
    return out


PICKERS = {"uncertainty": pick_uncertainty, "disagreement": pick_disagreement, "diverse": pick_diverse,
           "random": pick_random}


def select(items: Sequence[Scored], budget: int, mix: str | dict[str, float], threshold: float,
           embed: Callable[[list[str]], np.ndarray] | None = None, seed: int = 13) -> list[Choice]:
    """Up to ``budget`` distinct candidates; if one strategy finds fewer than its quota
    (no disagreements, say), the next strategies fill in, then uncertainty."""
    shares = parse_mix(mix) if isinstance(mix, str) else mix
    chosen: list[Choice] = []
    taken: set[int] = set()
    owed = 0
    order = list(quotas(shares, min(budget, len(items))).items())
    for name, q in order + [("uncertainty", 0)]:
        pool = [i for i in range(len(items)) if i not in taken]
        want = q + owed
        picks = PICKERS[name](items, pool, want, threshold=threshold, embed=embed, seed=seed)
        chosen += picks
        taken.update(c.index for c in picks)
        owed = want - len(picks)
    return chosen[:budget]
