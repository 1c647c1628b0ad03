"""What scorers read (profiles and items) and what they return (scores). Plain dataclasses so
the pure scoring code never touches Dagster or the warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import ClassVar, Protocol

from pipeline.lib.hashing import content_hash

LOCAL_MODEL = "lexical-rules-v2"


class _HashedProfile:
    """A profile whose `profile_hash` covers its `profile_fields`: the original fields always,
    the `NEWER_FIELDS` only when set, so a profile that does not use them keeps its hash (and
    its cached scores)."""

    NEWER_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not self.profile_hash:
            object.__setattr__(self, "profile_hash", content_hash(self.profile_fields()))

    def profile_fields(self) -> dict:
        newer = {name: getattr(self, name) for name in self.NEWER_FIELDS}
        return self._original_fields() | {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in newer.items()
            if value
        }


@dataclass(frozen=True)
class OrgProfile(_HashedProfile):
    org_id: str
    tenant_id: str
    name: str
    mission: str = ""
    focus_areas: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    eligibility_type: str | None = None
    geography: str | None = None
    budget_min: float | None = None
    budget_max: float | None = None
    # What the organisation does NOT want ("military programmes"): a grant about it is marked
    # down with that reason, however well its other words match.
    not_a_fit: tuple[str, ...] = ()
    industry: str | None = None
    languages: tuple[str, ...] = ()
    profile_hash: str = ""
    NEWER_FIELDS = ("not_a_fit", "industry", "languages")

    def _original_fields(self) -> dict:
        return {
            "name": self.name,
            "mission": self.mission,
            "focus_areas": list(self.focus_areas),
            "keywords": list(self.keywords),
            "eligibility_type": self.eligibility_type,
            "geography": self.geography,
            "budget_min": self.budget_min,
            "budget_max": self.budget_max,
        }


@dataclass(frozen=True)
class Grant:
    grant_id: str
    title: str
    agency: str = ""
    description: str = ""
    eligibility: str = ""
    close_date: dt.date | None = None
    award_floor: float | None = None
    award_ceiling: float | None = None
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(
                self,
                "content_hash",
                content_hash(
                    [
                        self.title,
                        self.agency,
                        self.description,
                        self.eligibility,
                        self.close_date,
                        self.award_floor,
                        self.award_ceiling,
                    ]
                ),
            )

    @property
    def text(self) -> str:
        return " ".join(
            p for p in (self.title, self.agency, self.description, self.eligibility) if p
        )


@dataclass(frozen=True)
class ClientProfile(_HashedProfile):
    client_id: str
    tenant_id: str
    name: str
    aliases: tuple[str, ...] = ()
    domain: str | None = None
    # What the client cares about beyond its own name: products it uses, its topics (an NGO
    # is described by them), and what it does not want to hear about.
    keywords: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    not_interested_in: tuple[str, ...] = ()
    industry: str | None = None
    geography: str | None = None
    languages: tuple[str, ...] = ()  # ISO 639-1 codes; empty = any language
    profile_hash: str = ""
    NEWER_FIELDS = ("keywords", "topics", "not_interested_in", "industry", "geography", "languages")

    def _original_fields(self) -> dict:
        return {"name": self.name, "aliases": sorted(self.aliases), "domain": self.domain}


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    description: str = ""
    source_name: str = ""
    url: str = ""
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(
                self, "content_hash", content_hash([self.title, self.description, self.url])
            )


@dataclass(frozen=True)
class GrantScore:
    score: float
    confidence: float
    reasons: tuple[str, ...]
    scorer: str
    model: str
    lexical_score: float
    cache_key: str | None = None


@dataclass(frozen=True)
class NewsScore:
    relevance: float
    category: str
    summary: str
    reason: str
    confidence: float
    scorer: str
    model: str
    lexical_score: float
    cache_key: str | None = None


COUNTERS = (
    "pairs",
    "ai_candidates",
    "cache_hits",
    "api_calls",
    "ai_scored",
    "failures",
    "fallbacks",
    "prompt_tokens",
    "completion_tokens",
    "estimated_cost_usd",
)


@dataclass
class ScoringStats:
    """What one scoring call cost and how it went; becomes asset metadata and an ai.usage row."""

    configured_scorer: str = "local"
    model: str | None = None
    prompt_version: str | None = None
    pairs: int = 0
    ai_candidates: int = 0
    cache_hits: int = 0
    api_calls: int = 0
    ai_scored: int = 0
    failures: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost_usd: float = 0.0
    budget_exhausted: bool = False
    api_unavailable: bool = False
    messages: list[str] = field(default_factory=list)

    @property
    def fallback_share(self) -> float:
        return self.fallbacks / self.ai_candidates if self.ai_candidates else 0.0

    def merge(self, other: ScoringStats) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.budget_exhausted |= other.budget_exhausted
        self.api_unavailable |= other.api_unavailable
        self.messages.extend(other.messages)

    def as_record(self) -> dict:
        """The figures as one flat record: an ai.usage row and the scoring assets' metadata."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "messages"}
        record["estimated_cost_usd"] = round(self.estimated_cost_usd, 6)
        return record


GrantPair = tuple[OrgProfile, Grant]
NewsPair = tuple[ClientProfile, Article]


class Scorer(Protocol):
    """Scores pairs in order; `stats` describes the last call."""

    name: str
    model: str
    stats: ScoringStats
    failures: list[dict]  # invalid/refused model answers of the last call (never scores)

    def score_grants(self, pairs: Sequence[GrantPair], today: dt.date) -> list[GrantScore]: ...

    def score_news(self, pairs: Sequence[NewsPair]) -> list[NewsScore]: ...
