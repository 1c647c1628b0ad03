"""Exclusions as a reader means them. A profile says what it does not want as kinds of items
("event announcements and recaps", "routine insider share sales and holdings filings",
"third-party products that merely run on Windows"), not as a bag of words that must all appear.
Each exclusion is split into its parts; a part matches an item when

- all of its specific words appear, compared as lemmas in the reader's languages
  ("announcements" meets "announcement", "recaps" meets "recap"), or
- one of its words names a kind of item and the headline or the first sentence is worded the
  way items of that kind usually are (an event: "register now", "workshop", "conference",
  "Konferenz"; a holdings filing: "reduces stake"; a third-party product: "Windows-powered").

The wordings are general ones for each kind (KIND_WORDINGS), not phrases of particular items."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.scoring.text import STOP_WORDS, lemmas

_PARTS = re.compile(r",|;|\band\b|\bor\b|\bas well as\b|\bnor\b", re.I)
# Words that say how an exclusion is meant, not what it is about.
# "Reports" stays: "market research reports" is not "a survey by a market research firm".
_QUALIFIER_TEXT = """routine merely just only simple mere generic general any kind kinds type
    types such like item items article articles story stories post posts program programme
    project service activity initiative work product"""


@functools.cache
def _ignored() -> frozenset[str]:
    # On first use, not at import: lemmatising loads a dictionary (0.2 s) that processes which
    # never score (a sales ingest, the web service) should not pay for.
    return frozenset(lemmas(_QUALIFIER_TEXT, ("en",))) | STOP_WORDS


_INFLECTION = r"(?:s|es|ed|d|ing)?"

# Kind of item -> how such items are usually worded (English, German, Portuguese), as regular
# expressions (most are plain words). Keys are lemmas of the words a profile names the kind by.
_EVENT = (
    "register now",
    "registration is open",
    "registration",
    "webinar",
    "workshop",
    "conference",
    "summit",
    "meetup",
    "hackathon",
    "keynote",
    "save the date",
    "join us",
    "call for papers",
    "call for talks",
    "tickets",
    "konferenz",
    "ticketverkauf",
    "vorträge",
    "anmeldung",
    "conferência",
    "inscrições",
)
_RECAP = (
    "recap",
    "highlights",
    "recorded presentations",
    "recordings",
    "workshop content",
    "in case you missed",
    "rückblick",
    "resumo",
)
_SAMPLE = ("sample app", "sample application", "sample code", "demo", "showcasing", "example app")
_FILING = (
    "insider",
    r"sells? \$?[\d,.]+ (?:shares|in stock)",
    r"sold \$?[\d,.]+ shares",
    r"buys? \$?[\d,.]+ shares",
    "stake in",
    "reduces stake",
    "raises stake",
    "increases stake",
    "trims stake",
    "position in",
    "holdings",
    "13f",
)
_ANALYST = (
    "reaffirms",
    "reiterates",
    "price target",
    "rating on",
    "outperform",
    "underperform",
    "overweight",
    "underweight",
    "upgrades",
    "downgrades",
    "analyst",
)
_THIRD_PARTY = (
    "powered",
    "powered by",
    "runs on",
    "running on",
    "built on",
    "available on",
    "compatible with",
    "integration with",
    "adds support for",
    "app for",
)
_MARKET_RESEARCH = (
    r"market (?:report|size|share|forecast|study|outlook)",
    "research report",
    "industry report",
)
_HOW_TO = ("how to", "how-to", "tutorial", "step by step", "tips for", "guide to", "anleitung")
KIND_WORDINGS: dict[str, tuple[str, ...]] = {
    "event": _EVENT,
    "announcement": _EVENT,
    "conference": _EVENT,
    "webinar": _EVENT,
    "recap": _RECAP,
    "sample": _SAMPLE,
    "demo": _SAMPLE,
    "insider": _FILING,
    "filing": _FILING,
    "holding": _FILING,
    "analyst": _ANALYST,
    "rating": _ANALYST,
    "third-party": _THIRD_PARTY,
    "research": _MARKET_RESEARCH,
    "tutorial": _HOW_TO,
    "how-to": _HOW_TO,
}


@dataclass(frozen=True)
class Exclusion:
    phrase: str  # as the profile states it: the reason shown
    parts: tuple[tuple[str, ...], ...]  # each part's specific words, as English lemmas
    wording: re.Pattern | None  # how items of the kinds it names are usually worded


@functools.lru_cache(maxsize=1024)
def parse(phrase: str) -> Exclusion:
    parts, wordings = [], []
    for part in _PARTS.split(phrase):
        words = [
            w for w in lemmas(part.replace("how to", "how-to"), ("en",)) if w not in _ignored()
        ]
        hyphenated = re.findall(r"\b\w+-\w+\b", part.lower())
        for word in (*words, *hyphenated):
            wordings.extend(KIND_WORDINGS.get(word, ()))
        if words:
            parts.append(tuple(words))
    pattern = None
    if wordings:
        alternatives = "|".join(w + _INFLECTION for w in dict.fromkeys(wordings))
        pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.I)
    return Exclusion(phrase, tuple(parts), pattern)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0] if text else ""


def excluded(
    phrases: Sequence[str], title: str, body: str, languages: Sequence[str] = ()
) -> str | None:
    """The first exclusion the item falls under (as the profile states it), or None."""
    if not phrases:
        return None
    reader = tuple(dict.fromkeys((*languages, "en")))
    present = set(lemmas(f"{title}\n{body}", reader))
    lead = f"{title}\n{first_sentence(body)}"
    for phrase in phrases:
        exclusion = parse(phrase)
        if any(all(w in present for w in part) for part in exclusion.parts):
            return exclusion.phrase
        if exclusion.wording is not None and exclusion.wording.search(lead):
            return exclusion.phrase
    return None
