"""Broad topics and the words texts use for them. A person searches for "climate" while a grant
says "coastal resilience" and "sea level rise"; a profile excludes "events" while the items say
"webinar", "summit" or "recap". Word matching alone cannot join those, and no embedding model is
available offline, so this small, hand-written thesaurus does: each entry is a topic a reader
names and the words that usually stand for it. Related words count less than the word itself."""

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
    "event": (
        "webinar",
        "conference",
        "summit",
        "meetup",
        "workshop",
        "keynote",
        "panel",
        "livestream",
        "register",
        "recap",
        "highlights",
        "join us",
        "save the date",
        "hackathon",
    ),
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


def related_words(query_tokens: list[str]) -> list[str]:
    """Tokens of the phrases that stand for the query's topics, without the query's own."""
    words = [w for t in query_tokens for phrase in related_phrases(t) for w in phrase]
    return [w for w in dict.fromkeys(words) if w not in query_tokens]
