"""The local scorer: length-normalised tf-idf similarity plus exclusion, geography, eligibility,
deadline and award-size rules for grants; for news, the evidence and penalties of news_rules and
keyword categories read from the client's side. Needs no keys, is deterministic, and explains
every score in a few words (docs/scoring.md)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.scoring.bm25 import BM25Index
from pipeline.lib.scoring.categories import CATEGORY_LABELS, MATERIAL_CATEGORIES, classify
from pipeline.lib.scoring.client_side import from_client_side
from pipeline.lib.scoring.exclusions import excluded
from pipeline.lib.scoring.models import (
    LOCAL_MODEL,
    Article,
    ClientProfile,
    Grant,
    GrantPair,
    GrantScore,
    NewsPair,
    NewsScore,
    OrgProfile,
    ScoringStats,
)
from pipeline.lib.scoring.news_rules import (
    client_names,
    may_be_company_news,
    news_evidence,
    news_penalties,
    summary_beyond_title,
)
from pipeline.lib.scoring.places import places_in
from pipeline.lib.scoring.text import tokens
from pipeline.lib.text import plain_text

# Words in an eligibility text that name each kind of applicant. An organisation's
# eligibility_type is matched against these keys (and their synonyms below).
APPLICANT_TYPES: dict[str, tuple[str, ...]] = {
    "nonprofit": (
        "nonprofit",
        "non-profit",
        "not-for-profit",
        "not for profit",
        "501(c)(3)",
        "501c3",
        "501 (c)(3)",
        "charitable",
        "charities",
        "community-based organization",
        "community based organization",
        "faith-based",
    ),
    "higher_education": (
        "institutions of higher education",
        "higher education",
        "universit",
        "college",
    ),
    "government": (
        "state government",
        "county government",
        "city or township",
        "local government",
        "municipal",
        "public housing authorit",
        "special district",
    ),
    "tribal": ("tribal", "native american", "tribe"),
    "small_business": ("small business", "for-profit", "for profit", "businesses"),
    "individual": ("individuals",),
    "school": ("school district", "independent school", "k-12"),
}
_TYPE_SYNONYMS = {
    "nonprofit": "nonprofit",
    "non-profit": "nonprofit",
    "501c3": "nonprofit",
    "501(c)(3)": "nonprofit",
    "ngo": "nonprofit",
    "charity": "nonprofit",
    "university": "higher_education",
    "college": "higher_education",
    "higher_education": "higher_education",
    "higher education": "higher_education",
    "government": "government",
    "local_government": "government",
    "state_government": "government",
    "tribal": "tribal",
    "small_business": "small_business",
    "small business": "small_business",
    "business": "small_business",
    "for_profit": "small_business",
    "individual": "individual",
    "school": "school",
    "school_district": "school",
}
_OPEN_ELIGIBILITY = re.compile(
    r"\b(unrestricted|open to all|all applicants|any (?:type of )?(?:entity|organization)|others)\b",
    re.I,
)


# Words that say nothing about a subject on their own ("military programmes" is about
# "military"): left out when matching topics and exclusions.
def normalise_applicant_type(value: str | None) -> str | None:
    if not value:
        return None
    key = value.strip().lower().replace("-", "_") if "(" not in value else value.strip().lower()
    return _TYPE_SYNONYMS.get(key, _TYPE_SYNONYMS.get(key.replace("_", " "), key))


@functools.lru_cache(maxsize=4096)
def eligibility_verdict(org_type: str | None, eligibility_text: str) -> tuple[float, str | None]:
    """(multiplier, reason). Unknown on either side is neutral: the rules only penalise what
    the grant text clearly rules out."""
    text = plain_text(eligibility_text).lower()
    kind = normalise_applicant_type(org_type)
    if not text or not kind:
        return 1.0, None
    named = {t for t, words in APPLICANT_TYPES.items() if any(w in text for w in words)}
    if kind in named:
        label = kind.replace("_", " ")
        return 1.1, f"eligible: {label} applicants are listed"
    if _OPEN_ELIGIBILITY.search(text) or not named:
        return 1.0, None
    listed = ", ".join(sorted(n.replace("_", " ") for n in named))
    return 0.3, f"likely ineligible: open to {listed}"


def exclusion_verdict(not_a_fit: Sequence[str], grant: Grant) -> tuple[float, str | None]:
    """A grant about something the organisation ruled out ("military programmes") is marked
    down hard, however well its other words match."""
    phrase = excluded(not_a_fit, grant.title, grant.description)
    return (0.2, f"not a fit: {phrase}") if phrase else (1.0, None)


def geography_verdict(geography: str | None, grant_text: str) -> tuple[float, str | None]:
    """×1.1 when the grant names one of the profile's places; ×0.6 when it names places and
    none of them is the profile's (a trail in California for an organisation in Virginia);
    neutral when either side names no known place."""
    if not geography:
        return 1.0, None
    named = places_in(grant_text)
    wanted = places_in(geography)
    if not named or not wanted:
        return 1.0, None
    if named & wanted:
        return 1.1, "in your area: " + ", ".join(sorted(named & wanted)[:3])
    return 0.6, "elsewhere: " + ", ".join(sorted(named)[:3])


def deadline_verdict(close_date: dt.date | None, today: dt.date) -> tuple[float, str | None]:
    if close_date is None:
        return 1.0, "no deadline listed"
    # The reason names the date, not a count of days: it is stored with the score and shown
    # later beside the e-mail's own "(N days left)", which must be the only count.
    days = (close_date - today).days
    if days < 0:
        return 0.0, f"closed on {close_date.isoformat()}"
    if days <= 7:
        return 0.8, f"closes on {close_date.isoformat()}: little time to apply"
    return 1.0, f"closes on {close_date.isoformat()}"


def amount_verdict(
    org: OrgProfile, floor: float | None, ceiling: float | None
) -> tuple[float, str | None]:
    if ceiling and org.budget_min and ceiling < org.budget_min:
        return 0.7, f"award ceiling ${ceiling:,.0f} is below the ${org.budget_min:,.0f} sought"
    if floor and org.budget_max and floor > org.budget_max:
        return 0.7, f"award floor ${floor:,.0f} is above the ${org.budget_max:,.0f} sought"
    if (ceiling or floor) and (org.budget_min or org.budget_max):
        return 1.05, "award size fits the budget"
    return 1.0, None


def _weighted(words: Sequence[str], index: BM25Index) -> dict[str, float]:
    """Sublinear tf × idf vector of `words`."""
    counts = Counter(words)
    return {w: (1.0 + math.log(n)) * index.idf(w) for w, n in counts.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    dot = sum(v * b.get(t, 0.0) for t, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


# Similarity → score. Cosine similarity is normalised by the length of both texts, so a long,
# detailed profile does not score higher than a short one; the curve puts the users' default
# threshold (0.6) at the similarity where, on the tuning part of the evaluation set, a reader's
# "relevant" starts, and spreads scores either side of it rather than bunching them at the top.
# Above the threshold the curve flattens (TOP_STEEPNESS), so that strong matches spread over
# 0.6-0.97 where a person can rank them, instead of all reading 1.00.
SIMILARITY_AT_THRESHOLD = 0.11
CURVE_STEEPNESS = 3.0
TOP_STEEPNESS = 1.2
_THRESHOLD_ODDS = 0.6 / 0.4


def similarity_score(similarity: float) -> float:
    if similarity <= 0:
        return 0.0
    ratio = similarity / SIMILARITY_AT_THRESHOLD
    odds = _THRESHOLD_ODDS * ratio ** (CURVE_STEEPNESS if ratio < 1 else TOP_STEEPNESS)
    return odds / (1.0 + odds)


def adjusted(score: float, factor: float) -> float:
    """A rule's factor applied to a score. Penalties multiply the score; bonuses multiply its
    odds, so they lift a middling score about as much and never push a strong one to 1.00."""
    if factor <= 1.0 or score <= 0.0:
        return score * factor
    if score >= 1.0:
        return 1.0
    odds = score / (1.0 - score) * factor
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class _ProfileTerms:
    """An organisation's words, tokenised and weighted once per batch rather than once per
    grant."""

    phrases: tuple[str, ...]
    phrase_words: tuple[tuple[str, ...], ...]
    vector: dict[str, float]

    @classmethod
    def of(cls, org: OrgProfile, index: BM25Index) -> _ProfileTerms:
        # A phrase listed as both keyword and focus area counts (and is named) once.
        unique = {p.strip().casefold(): p.strip() for p in (*org.keywords, *org.focus_areas) if p}
        phrases = tuple(p for p in unique.values() if p)
        words = tuple(tuple(tokens(p)) for p in phrases)
        kept = [i for i, ws in enumerate(words) if ws]
        return cls(
            phrases=tuple(phrases[i] for i in kept),
            phrase_words=tuple(words[i] for i in kept),
            vector=_weighted(tokens(" ".join([org.mission, *phrases])), index),
        )


class LocalScorer:
    """Deterministic scorer; `lexical_*` methods are also the OpenAI scorer's prefilter."""

    name = "local"
    model = LOCAL_MODEL

    def __init__(self) -> None:
        self.stats = ScoringStats()
        self.failures: list[dict] = []

    # ----- grants -------------------------------------------------------------------------
    def score_grants(self, pairs: Sequence[GrantPair], today: dt.date) -> list[GrantScore]:
        grants: dict[str, Grant] = {}
        for _, grant in pairs:
            grants.setdefault(grant.grant_id, grant)
        order = {grant_id: i for i, grant_id in enumerate(grants)}
        index = BM25Index.from_texts(
            [f"{g.title} {g.title} {g.description} {g.agency}" for g in grants.values()]
        )
        profiles: dict[str, _ProfileTerms] = {}
        results = []
        for org, grant in pairs:
            terms = profiles.get(org.org_id)
            if terms is None:
                terms = profiles[org.org_id] = _ProfileTerms.of(org, index)
            results.append(
                self._score_grant(org, terms, grant, index, order[grant.grant_id], today)
            )
        self.stats = ScoringStats(configured_scorer="local", model=self.model, pairs=len(pairs))
        return results

    def _score_grant(
        self,
        org: OrgProfile,
        terms: _ProfileTerms,
        grant: Grant,
        index: BM25Index,
        doc: int,
        today: dt.date,
    ) -> GrantScore:
        hit_phrases = [
            terms.phrases[i]
            for i, words in enumerate(terms.phrase_words)
            if index.contains_all(doc, words)
        ]
        # The whole text, and the title alone (what the grant is mainly about).
        similarity = 0.6 * cosine(terms.vector, _weighted(index.documents[doc], index))
        similarity += 0.4 * cosine(terms.vector, _weighted(tokens(grant.title), index))
        lexical = similarity_score(similarity)

        reasons: list[str] = []
        if hit_phrases:
            reasons.append("matches " + ", ".join(hit_phrases[:4]))
        else:
            shared = index.matched_terms(list(terms.vector), doc)[:4]
            reasons.append(
                "shares the words " + ", ".join(shared) if shared else "no overlap with the profile"
            )
        score = lexical
        for factor, reason in (
            exclusion_verdict(org.not_a_fit, grant),
            geography_verdict(org.geography, f"{grant.title} {grant.description}"),
            eligibility_verdict(org.eligibility_type, grant.eligibility),
            amount_verdict(org, grant.award_floor, grant.award_ceiling),
            deadline_verdict(grant.close_date, today),
        ):
            score = adjusted(score, factor)
            if reason:
                reasons.append(reason)
        detail = min(1.0, len(index.documents[doc]) / 60)
        confidence = 0.35 + 0.25 * detail + 0.15 * min(1.0, len(terms.phrases) / 4)
        return GrantScore(
            score=round(min(1.0, max(0.0, score)), 4),
            confidence=round(confidence, 4),
            reasons=tuple(reasons),
            scorer=self.name,
            model=self.model,
            lexical_score=round(lexical, 4),
        )

    # ----- news ---------------------------------------------------------------------------
    def score_news(self, pairs: Sequence[NewsPair]) -> list[NewsScore]:
        self.stats = ScoringStats(configured_scorer="local", model=self.model, pairs=len(pairs))
        return [self._score_article(client, article) for client, article in pairs]

    def _score_article(self, client: ClientProfile, article: Article) -> NewsScore:
        title = plain_text(article.title)
        body = plain_text(article.description)
        found = news_evidence(client, title, body)
        company_news = may_be_company_news(client, found)
        category, evidence = classify(title, body, company_news=company_news)
        category = from_client_side(
            category, title, body, client_names(client), client.keywords, company_news
        )
        # Noisy-OR of the two strongest pieces of evidence: a second mention adds less than
        # the first, and a long profile gains nothing from listing more words.
        strengths = sorted((e.strength for e in found), reverse=True)[:2]
        subject = 1.0 - math.prod(1.0 - s for s in strengths)
        reasons = [e.reason for e in sorted(found, key=lambda e: -e.strength)[:2]]
        if not found:
            reasons.append(f"does not name {client.name} or anything in its profile")
        relevance = subject
        if found:
            # What happened matters: a deal or a leadership change about the subject is worth
            # more than a passing product story.
            weight = (
                0.35 if category in MATERIAL_CATEGORIES else 0.2 if category == "product" else 0
            )
            # One "deal" word is weaker evidence of a deal than three.
            weight *= min(1.0, 0.5 + 0.25 * len(evidence))
            relevance = 1.0 - (1.0 - subject) * (1.0 - weight * subject)
        for factor, reason in news_penalties(client, title, body):
            relevance *= factor
            reasons.append(reason)
        confidence = 0.45 + 0.3 * subject
        label = CATEGORY_LABELS[category]
        why = f" ({', '.join(evidence[:3])})" if evidence else ""
        reason = f"The article {'; '.join(reasons)}; category {label}{why}."
        return NewsScore(
            relevance=round(min(1.0, max(0.0, relevance)), 4),
            category=category,
            summary=summary_beyond_title(title, body),
            reason=reason,
            confidence=round(confidence, 4),
            scorer=self.name,
            model=self.model,
            lexical_score=round(subject, 4),
        )
