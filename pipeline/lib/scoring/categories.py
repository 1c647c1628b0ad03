"""The fixed set of news categories and the keyword rules the local scorer uses for them."""

from __future__ import annotations

import re

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

# Categories an account manager must hear about; product news matters a little less.
MATERIAL_CATEGORIES = frozenset(
    {"m_and_a", "funding", "leadership_change", "legal_regulatory", "financial_results", "risk"}
)

_RULES: dict[str, list[str]] = {
    "m_and_a": [
        r"acqui(?:re|res|red|ring|sition|sitions)",
        r"merg(?:er|ers|e|es|ed|ing)",
        r"takeover",
        r"buyout",
        r"(?:to|will|agrees to|agreed to) buy",
        r"buys",
        r"divest\w*",
        r"spin-?off",
        r"stake in",
    ],
    "funding": [
        r"rais(?:e|es|ed|ing) \$?\d",
        r"funding(?: round)?",
        r"series [a-f]",
        r"seed round",
        r"venture capital",
        r"investors?",
        r"valuation",
        r"ipo",
        r"backed by",
    ],
    "leadership_change": [
        r"ceo",
        r"cfo",
        r"cto",
        r"coo",
        r"chief executive",
        r"appoint(?:s|ed|ment)?",
        r"names? (?:new )?(?:chief|president|chair)",
        r"resign(?:s|ed|ation)?",
        r"steps? down",
        r"successor",
        r"chairman|chairwoman",
        r"board of directors",
        r"retir(?:e|es|ed|ement)",
        r"new head of",
    ],
    "legal_regulatory": [
        r"lawsuits?",
        r"su(?:e|es|ed|ing)",
        r"courts?",
        r"judge",
        r"antitrust",
        r"regulat(?:or|ors|ory|ion|ions)",
        r"fin(?:e|ed|es)",
        r"settlement",
        r"investigat(?:e|es|ion|ing)",
        r"probe",
        r"ftc|sec|doj|gdpr",
        r"complian(?:ce|t)",
        r"ruling",
        r"patents?",
        r"class action",
        r"subpoena",
        r"banned|bans",
    ],
    "financial_results": [
        r"earnings",
        r"quarterly",
        r"revenue",
        r"profits?",
        r"(?:net )?loss(?:es)?",
        r"results",
        r"q[1-4]",
        r"fiscal",
        r"guidance",
        r"forecast",
        r"dividend",
        r"shares (?:rose|fell|jumped|slid|dropped|climbed)",
        r"stock (?:rose|fell|jumped|slid|dropped|climbed)",
    ],
    "risk": [
        r"breach(?:es|ed)?",
        r"hack(?:ed|ers|ing)?",
        r"outages?",
        r"recalls?",
        r"layoffs?",
        r"job cuts",
        r"bankrupt\w*",
        r"downgrad\w*",
        r"vulnerabilit\w*",
        r"cyberattack\w*",
        r"ransomware",
        r"strikes?",
        r"shortages?",
        r"scandal",
        r"fraud",
        r"leak(?:s|ed)?",
        r"crash(?:es|ed)?",
        r"delay(?:s|ed)?",
    ],
    "product": [
        r"launch(?:es|ed|ing)?",
        r"unveil(?:s|ed|ing)?",
        r"releas(?:e|es|ed|ing)",
        r"introduc(?:e|es|ed|ing)",
        r"debut(?:s|ed)?",
        r"new (?:app|feature|product|device|model|version|service)",
        r"products?",
        r"features?",
        r"update[sd]?",
        r"beta",
        r"roll(?:s|ed)? out|rollout",
        r"apps?",
        r"phase (?:1|2|3|i|ii|iii) (?:data|trial|results)",
        r"clinical trials?",
    ],
}

_COMPILED = {
    category: re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)
    for category, patterns in _RULES.items()
}


def category_hits(text: str) -> dict[str, list[str]]:
    """Category → the words in `text` that point to it (empty categories left out)."""
    hits = {}
    for category, pattern in _COMPILED.items():
        found = [m.group(0).lower() for m in pattern.finditer(text)]
        if found:
            hits[category] = found
    return hits


def classify(title: str, body: str) -> tuple[str, list[str]]:
    """The category with the most evidence (headline words count double) and that evidence."""
    weights: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    for text, weight in ((title, 2.0), (body, 1.0)):
        for category, words in category_hits(text).items():
            weights[category] = weights.get(category, 0.0) + weight * len(words)
            evidence.setdefault(category, []).extend(words)
    if not weights:
        return "other", []
    best = max(NEWS_CATEGORIES[:-1], key=lambda c: (weights.get(c, 0.0), -NEWS_CATEGORIES.index(c)))
    return best, sorted(set(evidence[best]))
