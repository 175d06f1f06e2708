"""How varied a set of posts is: near-duplicates, shared skeletons, distinct n-grams.

A corpus of template sentences teaches a model the template. We measure that instead of
claiming it: posts whose masked text (digits, handles, links and amounts folded) shares at
least half of its character 5-grams are near-duplicates, found with MinHash LSH
(``datasketch``) and confirmed with the exact Jaccard; the connected groups of
near-duplicates are "skeletons" (one sentence frame with words swapped).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

NEAR_DUP_JACCARD = 0.5
SHINGLE = 5
NUM_PERM = 128

_HANDLE = re.compile(r"@\w+|t\.me/\S+|https?://\S+|www\.\S+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


def mask(text: str) -> str:
    """Fold what differs between copies of one ad: case, handles, links, numbers, spacing."""
    text = _HANDLE.sub("@h", text.lower())
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    t = mask(text)
    return {t[i : i + k] for i in range(max(1, len(t) - k + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_pairs(texts: list[str], threshold: float = NEAR_DUP_JACCARD,
                         seed: int = 1) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) whose shingle Jaccard is at least ``threshold``."""
    sets = [shingles(t) for t in texts]
    # LSH is tuned a little below the threshold so that pairs near it are not missed;
    # each candidate is then confirmed with the exact Jaccard.
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=NUM_PERM)
    hashes = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=NUM_PERM, seed=seed)
        m.update_batch([g.encode("utf-8") for g in s])
        hashes.append(m)
        lsh.insert(str(i), m)
    pairs = []
    for i, m in enumerate(hashes):
        for key in lsh.query(m):
            j = int(key)
            if j > i:
                jac = jaccard(sets[i], sets[j])
                if jac >= threshold:
                    pairs.append((i, j, jac))
    return sorted(pairs)


def groups_from_pairs(n: int, pairs: list[tuple[int, int, float]]) -> list[int]:
    """Connected components (union-find): one group id per item, the smallest index in it."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def distinct_n(texts: list[str], n: int) -> float:
    """Unique word n-grams over all word n-grams (higher is more varied)."""
    grams: Counter = Counter()
    for t in texts:
        words = _WORD.findall(t.lower())
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


@dataclass(frozen=True)
class Diversity:
    posts: int
    distinct_1: float
    distinct_2: float
    distinct_3: float
    near_duplicate_pairs: int
    posts_in_near_duplicates: int
    largest_skeleton: int


def diversity(texts: list[str]) -> Diversity:
    pairs = near_duplicate_pairs(texts)
    groups = Counter(groups_from_pairs(len(texts), pairs))
    in_dups = sum(size for size in groups.values() if size > 1)
    return Diversity(len(texts), distinct_n(texts, 1), distinct_n(texts, 2), distinct_n(texts, 3),
                     len(pairs), in_dups, max(groups.values(), default=0))
