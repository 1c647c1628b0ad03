"""The local scorer: BM25 lexical similarity plus eligibility, deadline and award-size rules for
grants; name mentions plus keyword categories for news. Needs no keys, is deterministic, and
explains every score in a few words."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.scoring.bm25 import BM25Index
from pipeline.lib.scoring.categories import CATEGORY_LABELS, MATERIAL_CATEGORIES, classify
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
_CORPORATE_SUFFIX = re.compile(
    r"[,.]?\s+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|ag|sa|group|holdings)\.?$",
    re.I,
)


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


def deadline_verdict(close_date: dt.date | None, today: dt.date) -> tuple[float, str | None]:
    if close_date is None:
        return 1.0, "no deadline listed"
    days = (close_date - today).days
    if days < 0:
        return 0.0, f"closed on {close_date.isoformat()}"
    if days <= 7:
        return 0.8, f"closes in {days} day{'s' if days != 1 else ''}: little time to apply"
    return 1.0, f"closes in {days} days"


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


def client_names(client: ClientProfile) -> list[str]:
    """Names an article may use for the client: the CRM name with and without a corporate
    suffix, the aliases, and the domain's first label (acme.com → acme)."""
    names = {client.name.strip()}
    names.add(_CORPORATE_SUFFIX.sub("", client.name.strip()))
    names.update(a.strip() for a in client.aliases if a and a.strip())
    if client.domain:
        host = re.sub(r"^[a-z]+://", "", client.domain.strip().lower()).split("/")[0]
        label = host.removeprefix("www.").split(".")[0]
        if len(label) >= 3:
            names.add(label)
    return sorted((n for n in names if len(n) >= 2), key=len, reverse=True)


def _mentions(names: Sequence[str], text: str) -> str | None:
    for name in names:
        if re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text, re.I):
            return name
    return None


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 1]


def two_sentence_summary(title: str, description: str, limit: int = 320) -> str:
    sentences = _sentences(description)
    if len(sentences) < 2:
        sentences = [title.rstrip(".") + ".", *sentences]
    summary = " ".join(sentences[:2])
    return summary if len(summary) <= limit else summary[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class _ProfileTerms:
    """An organisation's words, tokenised once per batch rather than once per grant."""

    phrases: tuple[str, ...]
    phrase_words: tuple[tuple[str, ...], ...]
    # A phrase found in every grant of the batch ("research") says less than a rare one
    # ("hydrokinetic"): each hit is weighted by its words' rarity relative to a unique word.
    phrase_weights: tuple[float, ...]
    profile_words: tuple[str, ...]

    @classmethod
    def of(cls, org: OrgProfile, index: BM25Index) -> _ProfileTerms:
        # A phrase listed as both keyword and focus area counts (and is named) once.
        unique = {p.strip().casefold(): p.strip() for p in (*org.keywords, *org.focus_areas) if p}
        phrases = tuple(p for p in unique.values() if p)
        words = tuple(tuple(tokens(p)) for p in phrases)
        rarest = index.idf("\0unseen") or 1.0
        weights = tuple(
            min(1.0, sum(index.idf(w) for w in ws) / len(ws) / rarest) if ws else 0.0
            for ws in words
        )
        kept = [i for i, ws in enumerate(words) if ws]
        return cls(
            phrases=tuple(phrases[i] for i in kept),
            phrase_words=tuple(words[i] for i in kept),
            phrase_weights=tuple(weights[i] for i in kept),
            profile_words=tuple(dict.fromkeys(tokens(" ".join([org.mission, *phrases])))),
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
        hits = [i for i, words in enumerate(terms.phrase_words) if index.contains_all(doc, words)]
        hit_phrases = [terms.phrases[i] for i in hits]
        hit_weight = sum(terms.phrase_weights[i] for i in hits)
        bm25 = index.score(terms.profile_words, doc)
        lexical = 1.0 - math.exp(-(0.45 * hit_weight + 0.08 * bm25))

        reasons: list[str] = []
        if hit_phrases:
            reasons.append("matches " + ", ".join(hit_phrases[:4]))
        else:
            shared = index.matched_terms(terms.profile_words, doc)[:4]
            reasons.append(
                "shares the words " + ", ".join(shared) if shared else "no overlap with the profile"
            )
        score = lexical
        for factor, reason in (
            eligibility_verdict(org.eligibility_type, grant.eligibility),
            amount_verdict(org, grant.award_floor, grant.award_ceiling),
            deadline_verdict(grant.close_date, today),
        ):
            score *= factor
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
        names = client_names(client)
        category, evidence = classify(title, body)
        in_title = _mentions(names, title)
        in_body = None if in_title else _mentions(names, body)
        if in_title:
            base, confidence, where = 0.6, 0.7, f"names {in_title} in the headline"
        elif in_body:
            base, confidence, where = 0.45, 0.55, f"mentions {in_body} in the text"
        else:
            base, confidence, where = 0.05, 0.45, f"does not name {client.name}"
        boost = 0.3 if category in MATERIAL_CATEGORIES else 0.15 if category == "product" else 0.0
        if not (in_title or in_body):
            boost /= 3
        relevance = min(1.0, base + boost)
        label = CATEGORY_LABELS[category]
        why = f" ({', '.join(evidence[:3])})" if evidence else ""
        reason = f"The article {where}; category {label}{why}."
        return NewsScore(
            relevance=round(relevance, 4),
            category=category,
            summary=two_sentence_summary(title, body),
            reason=reason,
            confidence=confidence,
            scorer=self.name,
            model=self.model,
            lexical_score=round(relevance, 4),
        )
