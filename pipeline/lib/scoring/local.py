"""The local scorer: length-normalised tf-idf similarity plus exclusion, geography, eligibility,
deadline and award-size rules for grants; evidence from the client's name, keywords and topics,
word-sense, exclusion and language checks, and keyword categories for news. Needs no keys, is
deterministic, and explains every score in a few words (docs/scoring.md)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.scoring.bm25 import BM25Index
from pipeline.lib.scoring.categories import (
    CATEGORY_LABELS,
    MATERIAL_CATEGORIES,
    classify,
    from_client_side,
)
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
from pipeline.lib.scoring.places import places_in
from pipeline.lib.scoring.text import GENERIC_WORD_TEXT, guess_language, lemmas, tokens
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
GENERIC_WORDS = frozenset(tokens(GENERIC_WORD_TEXT))
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


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 1]


def _repeats(sentence: str, title: str) -> bool:
    """Whether a sentence says little beyond the headline (most of its words are in it)."""
    words = set(tokens(sentence))
    return not words or len(words & set(tokens(title))) / len(words) >= 0.6


def summary_beyond_title(title: str, description: str, limit: int = 320) -> str:
    """Up to two sentences of the text that add to the headline: a sentence that only repeats
    the headline is skipped; with nothing new to say, the summary is empty rather than the
    headline again."""
    sentences = [s for s in _sentences(description) if not _repeats(s, title)]
    summary = " ".join(sentences[:2])
    return summary if len(summary) <= limit else summary[: limit - 1].rstrip() + "…"


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
        category, evidence = classify(title, body)
        category = from_client_side(category, title, body, client_names(client))
        found = news_evidence(client, title, body)
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


@dataclass(frozen=True)
class Evidence:
    strength: float
    reason: str


# Where a term is found and how often: a headline is what the article is about; a single
# mention in the text is often in passing, two or more mean the text is about it.
_NAME_STRENGTH = {"title": 0.65, "body_repeated": 0.5, "body": 0.35}
_KEYWORD_STRENGTH = {"title": 0.62, "body_repeated": 0.45, "body": 0.3}
_TOPIC_STRENGTH = {"title": 0.62, "body": 0.42, "title_partial": 0.4, "body_partial": 0.2}


def _term_pattern(term: str) -> re.Pattern:
    """A whole-word pattern for a name or keyword. A single word written with a capital
    (Slack, Apple, Windows) only matches that spelling (or all capitals), so 'slack in his
    uniform' or 'large windows' is not the company or the product."""
    escaped = re.escape(term)
    body = rf"(?<![\w.#+-]){escaped}(?![\w#+])"
    if " " not in term and term.islower():
        # A domain's label (slack): the domain itself, or the word as a name is written.
        spellings = "|".join(re.escape(t) for t in (term.capitalize(), term.upper()))
        return re.compile(rf"(?<![\w.#+-])(?:{escaped}\.[a-z]{{2,}}\b|(?:{spellings})(?![\w#+]))")
    if " " not in term and any(c.isupper() for c in term):
        return re.compile(rf"(?<![\w.#+-])(?:{escaped}|{re.escape(term.upper())})(?![\w#+])")
    return re.compile(body, re.I)


def _word_pattern(word: str) -> re.Pattern:
    return re.compile(rf"(?<![\w.#+-]){re.escape(word)}(?![\w#+])", re.I)


def _lemma_where(wanted: list[str], title: set[str], body: list[str]) -> str | None:
    """Where all of a keyword's lemmas are: the headline, the text (twice or once), nowhere."""
    if not wanted:
        return None
    if all(w in title for w in wanted):
        return "title"
    hits = min(body.count(w) for w in wanted)
    return "body_repeated" if hits >= 2 else "body" if hits else None


def _count(pattern: re.Pattern, text: str) -> int:
    return len(pattern.findall(text))


def _where(pattern: re.Pattern, title: str, body: str) -> str | None:
    if pattern.search(title):
        return "title"
    hits = _count(pattern, body)
    return "body_repeated" if hits >= 2 else "body" if hits else None


# A name followed by one of these is something else called the same (a slack adjuster).
_PRODUCT_NOUNS = re.compile(
    r"^\s+(?:adjusters?|wax|market|markets|cable|line|tide|water|season|jeans)\b", re.I
)
# Before a name, a capitalised first name means a person (second baseman Brayden Slack).
_PERSON_BEFORE = re.compile(r"(?:^|\s)(?:[A-Z][a-z]+)\s+$")


def _names_the_company(name: str, pattern: re.Pattern, text: str) -> bool:
    """Whether some mention of `name` in `text` is the company: not part of a longer noun
    phrase for another thing, not a person's surname."""
    for match in pattern.finditer(text):
        after = text[match.end() :]
        before = text[: match.start()]
        if _PRODUCT_NOUNS.match(after):
            continue
        if " " not in name and _PERSON_BEFORE.search(before) and not _at_sentence_start(before):
            continue
        return True
    return False


def _at_sentence_start(before: str) -> bool:
    stripped = before.rstrip()
    words = stripped.split()
    # "Report: Slack ..." or a headline's first word: a capital there says nothing.
    return not stripped or stripped.endswith((":", ".", "|", "-", "–")) or len(words) <= 1


def news_evidence(client: ClientProfile, title: str, body: str) -> list[Evidence]:
    """What in the article points to the client: its name, its keywords (products it uses or
    sells), its topics (whole phrase or its rarer half)."""
    found: list[Evidence] = []
    # The best mention in the headline and the best in the text count separately: an
    # article that names the client in both is more about it than one that names it once.
    in_title, in_body = [], []
    for name in client_names(client):
        pattern = _term_pattern(name)
        if not _names_the_company(name, pattern, f"{title}\n{body}"):
            continue
        if pattern.search(title):
            in_title.append(Evidence(_NAME_STRENGTH["title"], f"names {name} in the headline"))
        hits = _count(pattern, body)
        if hits:
            place = "body_repeated" if hits >= 2 else "body"
            in_body.append(Evidence(_NAME_STRENGTH[place], f"names {name} in the text"))
    for named in (in_title, in_body):
        if named:
            found.append(max(named, key=lambda e: e.strength))
    reader = (*client.languages, "en")

    # Worked out only when a keyword is not found as written. A capitalised keyword (Windows,
    # Flüchtlinge) only meets words written with a capital.
    @functools.cache
    def lemmatised(capitalised: bool) -> tuple[set[str], list[str]]:
        return set(lemmas(title, reader, capitalised)), lemmas(body, reader, capitalised)

    for keyword in client.keywords:
        # A keyword written in lower case is a word, not a name: any case matches.
        pattern = _term_pattern(keyword) if keyword != keyword.lower() else _word_pattern(keyword)
        where = _where(pattern, title, body)
        if where and not _names_the_company(keyword, pattern, f"{title}\n{body}"):
            continue
        if where is None:
            # Other inflections, in the client's languages ('migrantes' for 'migrante').
            capitalised = keyword[:1].isupper()
            where = _lemma_where(lemmas(keyword, reader), *lemmatised(capitalised))
        if where:
            place = "the headline" if where == "title" else "the text"
            found.append(Evidence(_KEYWORD_STRENGTH[where], f"is about {keyword} ({place})"))
    title_words, body_words = set(tokens(title)), set(tokens(body))
    for topic in client.topics:
        words = [w for w in tokens(topic) if w not in GENERIC_WORDS]
        if not words:
            continue
        for place, present in (("title", title_words), ("body", body_words)):
            hit = [w for w in words if w in present]
            if len(hit) == len(words):
                found.append(Evidence(_TOPIC_STRENGTH[place], f"is about {topic} (the {place})"))
                break
            # Half a phrase still counts a little when the matched word is the specific one
            # ("trafficking" of "human trafficking"), never for a one-word topic.
            if len(words) > 1 and hit and max(len(w) for w in hit) >= 6:
                found.append(Evidence(_TOPIC_STRENGTH[f"{place}_partial"], f"touches on {topic}"))
                break
    return found


# Listings and market-research teasers name companies and products without being news
# about them ("Automotive Slack Market 2019 by Top key players ...").
_NOT_NEWS = re.compile(
    r"\bmarket\b.{0,60}\b(?:report|research|size|share|growth|forecast|overview|study|players?)\b"
    r"|\bmarket (?:20\d\d|report)\b|\$\d[\d,]* \d?(?:bd|br)\b|\d+ ?(?:bd|ft2|sq ?ft)\b",
    re.I,
)


def news_penalties(client: ClientProfile, title: str, body: str) -> list[tuple[float, str]]:
    """(factor, reason) for what lowers an article's relevance whatever it names."""
    penalties = []
    exclusion = excluded(client.not_interested_in, title, body, client.languages)
    if exclusion:
        penalties.append((0.3, f"is about {exclusion}, which the client is not interested in"))
    if _NOT_NEWS.search(title):
        penalties.append((0.35, "looks like a market-research listing or an ad, not news"))
    if client.languages:
        language = guess_language(f"{title}. {body}")
        if language and language not in client.languages:
            wanted = "/".join(client.languages)
            penalties.append((0.4, f"is written in {language}, not {wanted}"))
    return penalties
