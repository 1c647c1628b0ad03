"""Broad topics and the words texts use for them, for `pipeline search`. A person searches for
"climate" while a grant says "coastal resilience" and "sea level rise". Word matching alone
cannot join those, and no embedding model is available offline, so this small, hand-written
thesaurus does: each entry is a topic a reader names and the phrases that usually stand for it.
A related phrase counts only where all its words are, and less than the query's own words."""

from __future__ import annotations

import functools

from pipeline.lib.scoring.text import tokens

# topic -> words and phrases that usually mean it (English; kept short and general).
RELATED_TERMS: dict[str, tuple[str, ...]] = {
    "climate": (
        "climate change",
        "climate adaptation",
        "coastal resilience",
        "sea level rise",
        "flooding",
        "carbon emissions",
        "greenhouse gas",
        "global warming",
        "drought",
        "wildfire",
        "extreme heat",
    ),
    "environment": (
        "conservation",
        "habitat restoration",
        "wetland",
        "watershed",
        "biodiversity",
        "pollution",
        "water quality",
    ),
    "health": ("medical", "clinical", "hospital", "disease", "public health", "wellbeing"),
    "education": ("school", "literacy", "students", "teaching", "curriculum", "learning"),
    "housing": ("homelessness", "affordable homes", "tenants", "shelter", "rent"),
    "energy": ("renewable", "solar", "wind power", "electricity", "power grid", "efficiency"),
    "migration": ("asylum", "refugees", "migrants", "immigration", "deportation", "border"),
}


@functools.cache
def _related_tokens() -> dict[str, tuple[tuple[str, ...], ...]]:
    """topic token -> the related phrases as token tuples."""
    table: dict[str, tuple[tuple[str, ...], ...]] = {}
    for topic, phrases in RELATED_TERMS.items():
        (key,) = tokens(topic)
        table[key] = tuple(t for t in (tuple(tokens(p)) for p in phrases) if t)
    return table


def related_phrases(word: str) -> tuple[tuple[str, ...], ...]:
    """Token tuples of the phrases that stand for `word` (an already tokenised word)."""
    return _related_tokens().get(word, ())


def related_phrases_of(query_tokens: list[str]) -> list[tuple[str, ...]]:
    """Token tuples of the phrases that stand for the query's topics (none of the query's own)."""
    phrases = [phrase for t in query_tokens for phrase in related_phrases(t)]
    return [p for p in dict.fromkeys(phrases) if not set(p) & set(query_tokens)]
