"""Prompts and structured-output schemas for the AI scorer. Bump PROMPT_VERSION whenever a prompt
or schema changes: it is part of the cache key, so old answers are not reused."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.lib.scoring.categories import CATEGORY_DEFINITIONS, NEWS_CATEGORIES
from pipeline.lib.scoring.models import Article, ClientProfile, Grant, OrgProfile

PROMPT_VERSION = "2026-12-07.2"
MAX_ITEM_CHARS = 2500

NewsCategory = Literal[NEWS_CATEGORIES]


class GrantMatchOutput(BaseModel):
    score: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(min_length=3, max_length=400)


class NewsScoreOutput(BaseModel):
    relevance: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)
    category: NewsCategory
    summary: str = Field(min_length=3, max_length=800)
    reason: str = Field(min_length=3, max_length=400)


def _schema(name: str, properties: dict) -> dict:
    """A strict json_schema response format. Ranges are stated in descriptions and enforced by
    pydantic afterwards: not every compatible server supports minimum/maximum."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name,
            "strict": True,
            "schema": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


GRANT_RESPONSE_FORMAT = _schema(
    "grant_match",
    {
        "score": {"type": "number", "description": "fit of the grant for the organisation, 0-1"},
        "confidence": {"type": "number", "description": "confidence in the score, 0-1"},
        "reason": {"type": "string", "description": "one sentence explaining the score"},
    },
)

NEWS_RESPONSE_FORMAT = _schema(
    "news_score",
    {
        "relevance": {"type": "number", "description": "relevance to the client, 0-1"},
        "confidence": {"type": "number", "description": "confidence in the relevance, 0-1"},
        "category": {
            "type": "string",
            "enum": list(NEWS_CATEGORIES),
            "description": "what the article is mainly about (see the definitions)",
        },
        "summary": {
            "type": "string",
            "description": "two sentences adding what the headline does not say",
        },
        "reason": {"type": "string", "description": "one sentence: why this relevance"},
    },
)

# Scores are compared with a user's threshold (0.6 by default): say so, so that 0.6 means
# "worth their attention" for the model as it does for the local scorer.
SCALE = (
    "Use the whole scale: below 0.3 not relevant, 0.3-0.6 loosely related, 0.6 and above "
    "worth the reader's attention, above 0.85 only for a clear, direct fit."
)

GRANT_SYSTEM = (
    "You match funding opportunities to organisations. Given an organisation profile and a "
    "grant, rate how well the grant fits the organisation's mission, focus areas, keywords, "
    "eligibility type, geography and budget. Anything listed under not_a_fit rules the grant "
    "out (score below 0.3), however well the rest matches: each entry describes a kind of "
    "grant as a reader means it (with other wordings and inflections), not words that must "
    "all appear. Score 0 means no fit or not "
    "eligible, 1 means an excellent fit the organisation should apply for. "
    + SCALE
    + " Reply with JSON only: score (0-1), confidence (0-1) and reason (one sentence)."
)

NEWS_SYSTEM = (
    "You tell account managers which news matters to their clients. A client may be followed "
    "by name, by the products it uses or sells (keywords), or by its topics (an NGO); an "
    "article can matter without naming the client. Rate how relevant the article is to the "
    "client (0 = not about the client or its interests, or a different thing with the same "
    "name, e.g. a 'slack adjuster' for Slack; 1 = important news for the client). Each "
    "entry under not_interested_in describes a kind of item as a reader means it (event "
    "announcements and recaps, sample or demo projects, routine analyst notes and holdings "
    "filings, third-party products that merely run on the client's platform): an article of "
    "that kind scores below 0.3, however it is worded and in whatever language. Articles in "
    "any of the client's languages count fully (match its keywords and topics across them); "
    "articles in other languages score low. "
    + SCALE
    + " Pick the ONE category for what the article is mainly about, as the client reads it: "
    "a competitor winning is risk for the client that loses and product for the client whose "
    "product wins, however it is worded (beats, overtakes, has more users than, is feared "
    "by); news of the client's own products is product, not other, also when the headline "
    "names only the product; a lawsuit and "
    "the company's statement on it are legal_regulatory, and so is a government's policy, "
    "law or its enforcement, even where the article warns of the harm it does; an opinion "
    "piece is other; a client followed only by its topics (an NGO) has no products or "
    "finances of its own in the article, so product and financial_results do not apply to "
    "it. Categories: "
    + "; ".join(f"{c}: {d}" for c, d in CATEGORY_DEFINITIONS.items())
    + ". Reply with JSON only: relevance (0-1), confidence (0-1), category, summary (two "
    "sentences that add to the headline, never repeating it) and reason (one sentence)."
)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ITEM_CHARS else text[:MAX_ITEM_CHARS] + "…"


def _messages(system: str, payload: dict) -> list[dict]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
    ]


def grant_messages(org: OrgProfile, grant: Grant) -> list[dict]:
    profile = {
        "name": org.name,
        "mission": _clip(org.mission),
        "focus_areas": list(org.focus_areas),
        "keywords": list(org.keywords),
        "eligibility_type": org.eligibility_type,
        "geography": org.geography,
        "budget_min": org.budget_min,
        "budget_max": org.budget_max,
        "not_a_fit": list(org.not_a_fit),
        "industry": org.industry,
        "languages": list(org.languages),
    }
    item = {
        "title": grant.title,
        "agency": grant.agency,
        "description": _clip(grant.description),
        "eligibility": _clip(grant.eligibility),
        "close_date": grant.close_date.isoformat() if grant.close_date else None,
        "award_floor": grant.award_floor,
        "award_ceiling": grant.award_ceiling,
    }
    return _messages(GRANT_SYSTEM, {"organisation": profile, "grant": item})


def news_messages(client: ClientProfile, article: Article) -> list[dict]:
    who = {
        "name": client.name,
        "aliases": list(client.aliases),
        "domain": client.domain,
        "keywords": list(client.keywords),
        "topics": list(client.topics),
        "not_interested_in": list(client.not_interested_in),
        "industry": client.industry,
        "geography": client.geography,
        "languages": list(client.languages),
    }
    item = {
        "title": article.title,
        "description": _clip(article.description),
        "source": article.source_name,
        "url": article.url,
    }
    return _messages(NEWS_SYSTEM, {"client": who, "article": item})
