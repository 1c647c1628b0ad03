"""The fixed set of news categories, what each means, and the category the local scorer reads
from an article's words (category_words.py); client_side.py reads it from the client's side."""

from __future__ import annotations

import re

from pipeline.lib.scoring.category_words import category_hits
from pipeline.lib.scoring.client_side import competitive_words

# Order is priority: when two categories tie, the earlier one wins (a deal beats a product).
NEWS_CATEGORIES: tuple[str, ...] = (
    "m_and_a",
    "funding",
    "leadership_change",
    "legal_regulatory",
    "financial_results",
    "risk",
    "product",
    "other",
)

CATEGORY_LABELS = {
    "m_and_a": "mergers & acquisitions",
    "funding": "funding",
    "leadership_change": "leadership change",
    "legal_regulatory": "legal / regulatory",
    "financial_results": "financial results",
    "risk": "risk",
    "product": "product",
    "other": "other",
}

# What each category means, for the model's prompt and the docs: one article, one category,
# chosen by what it is mainly about.
CATEGORY_DEFINITIONS = {
    "m_and_a": "mergers, acquisitions, divestments, a change of owner, stakes taken in other "
    "companies",
    "funding": "raising money: funding rounds, share offerings, IPOs and listings, grants received",
    "leadership_change": "people joining, leaving or changing roles at the top (a CEO "
    "selling shares is not a leadership change)",
    "legal_regulatory": "lawsuits and statements on them, courts, regulators, investigations, "
    "fines, arrests and sentences, government policy, taxes, laws and bans",
    "financial_results": "earnings, revenue, guidance, the company's stock and trading in "
    "it (a fund raising or cutting its holding too), market value, analyst ratings",
    "risk": "outages, breaches, errors that harm customers, recalls, layoffs and job cuts, "
    "competitors winning, violence, accidents, storms and other disasters, warnings of harm "
    "to what the client cares about (when a government's policy is the harm, "
    "legal_regulatory)",
    "product": "launches, releases, versions, previews, features, prices and discounts, API "
    "changes, retirements and shutdowns",
    "other": "anything else, including opinion pieces, features (documentaries, photo "
    "essays), a person's death for a company, and topics that are not company news",
}
assert set(CATEGORY_DEFINITIONS) == set(NEWS_CATEGORIES)

# Categories an account manager must hear about; product news matters a little less.
MATERIAL_CATEGORIES = frozenset(
    {"m_and_a", "funding", "leadership_change", "legal_regulatory", "financial_results", "risk"}
)

# Company news: what a company offers and its money. An article that concerns a client only
# through its topics (an NGO's "asylum") is not about the client's products or finances, so
# these do not apply from its side ("prisoners released" is not a release).
COMPANY_CATEGORIES = frozenset({"product", "financial_results"})

# A warning of harm in the headline is evidence of risk ("nets endangering wildlife"); a
# content warning in the text says nothing. Where a policy is the harm ("cuts to public lands
# threaten discoveries"), the policy's words outweigh it.
_WARNING = re.compile(
    r"\b(?:endanger\w*|danger\w*|warn(?:s|ed|ing|ings)?|at risk|jeopard\w*"
    r"|ameaç\w*|perigo\w*|bedroh\w*|gefahr\w*|gefährd\w*)\b",
    re.I,
)
# Commentary is marked as such: a byline after the headline ("... | Firstname Lastname"), a
# label ("Opinion: ..."), or "..., writes Firstname Lastname" in the standfirst.
_BYLINE = re.compile(
    r"\|\s*(?!The\b)[A-Z][a-z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]+|and|de|van|von|da)){1,4}\s*$"
)
_OPINION_LABEL = re.compile(r"^(?:opinion|comment|editorial|op-ed|column)\s*[:|]", re.I)
_WRITES = re.compile(r",\s+writes\s+[A-Z][a-z]+\s+[A-Z]")


# A feature about a subject, not an event: a documentary, a review, a photo essay, an AMA.
_FEATURE = re.compile(
    r"\b(?:documentar(?:y|ies)|docu-?series|documentário\w*|dokumentation\w*"
    r"|in pictures|photo essay|ask (?:me|us) anything)\b",
    re.I,
)


# A death notice: "..., dies at 90", "... found dead aged 35", "... killed in a crash aged 38".
_OBITUARY = re.compile(r"\b(?:dies|died|dead|killed)\b.{0,40}\b(?:at|aged) \d{1,3}\b", re.I)


def is_commentary(title: str, body: str) -> bool:
    title = title.strip()
    return bool(_BYLINE.search(title) or _OPINION_LABEL.search(title) or _WRITES.search(body[:300]))


def classify(title: str, body: str, company_news: bool = True) -> tuple[str, list[str]]:
    """The category with the most evidence (headline words count double) and that evidence.
    Opinion pieces are other; with `company_news` False, product and financial results are
    not candidates (see COMPANY_CATEGORIES)."""
    if is_commentary(title, body):
        return "other", ["opinion piece"]
    # For a client followed by its topics a feature is background; for a company it may be
    # its own product (a streaming service's documentary).
    if not company_news and _FEATURE.search(title):
        return "other", ["feature"]
    # A person's death is no harm to a company (a road-safety charity reads it as one).
    if company_news and _OBITUARY.search(title):
        return "other", ["obituary"]
    weights: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    headline = category_hits(title)
    text = category_hits(body)
    # A competitor winning is a risk to someone; client_side.py reads whom.
    for hits, extra in (
        (headline, [*_WARNING.findall(title), *competitive_words(title)]),
        (text, competitive_words(body)),
    ):
        if extra:
            hits.setdefault("risk", []).extend(w.lower() for w in extra)
    for hits, weight in ((headline, 2.0), (text, 1.0)):
        for category, words in hits.items():
            if not company_news and category in COMPANY_CATEGORIES:
                continue
            weights[category] = weights.get(category, 0.0) + weight * len(words)
            evidence.setdefault(category, []).extend(words)
    if not weights:
        return "other", []
    best = max(NEWS_CATEGORIES[:-1], key=lambda c: (weights.get(c, 0.0), -NEWS_CATEGORIES.index(c)))
    return best, sorted(set(evidence[best]))
