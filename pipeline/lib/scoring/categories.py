"""The fixed set of news categories and the keyword rules the local scorer uses for them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.lib.scoring.category_words import category_hits

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
    "m_and_a": "mergers, acquisitions, divestments, stakes taken in other companies",
    "funding": "raising money: funding rounds, IPOs and listings, grants received",
    "leadership_change": "people joining, leaving or changing roles at the top (a CEO "
    "selling shares is not a leadership change)",
    "legal_regulatory": "lawsuits and statements on them, courts, regulators, investigations, "
    "fines, arrests and sentences, government policy, laws and bans",
    "financial_results": "earnings, revenue, guidance, the company's stock and trading in "
    "it, analyst ratings",
    "risk": "outages, breaches, recalls, layoffs, competitors winning, storms and other "
    "disasters, warnings of harm to what the client cares about (when a government's policy "
    "is the harm, legal_regulatory)",
    "product": "launches, releases, versions, API changes and retirements, features",
    "other": "anything else, including opinion pieces, features and topics that are not "
    "company news",
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
    weights: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    headline = category_hits(title)
    warnings = [m.group(0).lower() for m in _WARNING.finditer(title)]
    if warnings:
        headline.setdefault("risk", []).extend(warnings)
    for hits, weight in ((headline, 2.0), (category_hits(body), 1.0)):
        for category, words in hits.items():
            if not company_news and category in COMPANY_CATEGORIES:
                continue
            weights[category] = weights.get(category, 0.0) + weight * len(words)
            evidence.setdefault(category, []).extend(words)
    if not weights:
        return "other", []
    best = max(NEWS_CATEGORIES[:-1], key=lambda c: (weights.get(c, 0.0), -NEWS_CATEGORIES.index(c)))
    return best, sorted(set(evidence[best]))


# Who loses in a competitive story: the name after "stomping/beating/overtaking ..." or before
# "is losing ground/share/customers"; who wins: the name others fear or lose ground to.
_LOSER_AFTER = re.compile(
    r"\b(?:stomp\w*|beat(?:s|ing)?|overtak\w*|outpac\w*|crush\w*|gain(?:s|ing)? on)\s+"
    r"(?P<loser>[A-Z][\w.&-]*)"
)
_LOSER_BEFORE = re.compile(
    r"(?P<loser>[A-Z][\w.&-]*)\s+(?:is\s+|has been\s+)?(?:losing|loses|lost)\s+"
    r"(?:ground|share|customers|users)"
)
_WINNER = re.compile(
    r"\b(?:(?:scared|afraid|fearful|wary|terrified) of|(?:losing|loses|lost)\s+"
    r"(?:ground|share|customers|users) to)\s+(?P<winner>[A-Z][\w.&-]*)"
)


# What a company offers: a headline naming the client and one of these is news of its products.
_OFFERING = re.compile(
    r"\b(?:apps?|devices?|robots?|displays?|platforms?|services?|tools?|software|assistants?"
    r"|editors?|extensions?|chips?|models?|phones?|handsets?|plans? for|batter(?:y|ies)"
    r"|plattform\w*|dienst\w*|geräte?|plataformas?|serviços?|aplicativos?|aparelhos?|baterias?)\b",
    re.I,
)


def _mentions(text: str, terms: Sequence[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text, re.I) for t in terms if t)


def _among(found: set[str], names: Sequence[str]) -> bool:
    """Whether one of the competitors `found` (single words) is one of the client's names."""
    folded = [n.casefold() for n in names]
    return any(who in name.split() or who == name for who in found for name in folded)


def from_client_side(
    category: str,
    title: str,
    body: str,
    names: Sequence[str],
    keywords: Sequence[str] = (),
    company_news: bool = True,
) -> str:
    """The category as the client reads it. "Teams is beating Slack" is a risk for Slack but,
    for Microsoft, news of its own product winning: product. A headline about the client and
    its own offering (an offering's word, or one of the company's keywords) that no rule placed
    is product, not other; not for a client that has no products in the article
    (`company_news` False)."""
    if category == "other":
        own_offering = _OFFERING.search(title) or _mentions(title, keywords)
        about_client = company_news and own_offering and _mentions(title, names)
        return "product" if about_client else category
    if category != "risk":
        return category
    text = f"{title}\n{body}"
    losers = {
        m.group("loser").casefold() for p in (_LOSER_AFTER, _LOSER_BEFORE) for m in p.finditer(text)
    }
    winners = {m.group("winner").casefold() for m in _WINNER.finditer(text)}
    if _among(losers, names):
        return category
    if _among(winners, names):
        return "product" if company_news else category
    if not losers:
        return category
    return "product" if company_news and _mentions(text, names) else category
