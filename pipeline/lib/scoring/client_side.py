"""A news category read from the client's side: "Teams is beating Slack" is a risk for Slack
and, for Microsoft, news of its own product winning; a headline about the client and its own
offering is product news even when no category word places it."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A competitive story. The loser is the name after "stomping/overtaking/surpassing ..." or
# "more users than", or before "is losing ground" or "falls behind"; the winner is the name
# others fear, lose ground to or fall behind. Names are capitalised, so "beats estimates" or
# "beats Wall Street" (earnings) is no competitor's win.
_NAME = r"(?:the\s+)?(?P<{}>[A-Z][\w.&-]*)"
_WINS = (
    r"stomp\w*|beat(?:s|ing)?|overtak\w*|outpac\w*|outsell\w*|outgrow\w*|outnumber\w*"
    r"|surpass\w*|crush\w*|dethron\w*|leapfrog\w*|gain(?:s|ing)? on"
    r"|(?:pull(?:s|ed|ing)?|get(?:s|ting)?|mov(?:e|es|ed|ing)) ahead of"
    r"|more (?:\w+ ){0,3}(?:users|customers|subscribers|downloads|sales) than"
)
_LOSES = (
    r"(?:losing|loses|lost)\s+(?:ground|share|customers|users|(?:its\s+|the\s+)?(?:top spot|lead))"
    r"|(?:falls?|falling|fell|lags?|lagging|trails?|trailing)\s+behind"
)
_LOSER_AFTER = re.compile(rf"\b(?:{_WINS})\s+(?!(?:Wall\s+)?Street\b){_NAME.format('loser')}")
_LOSER_BEFORE = re.compile(rf"{_NAME.format('loser')}\s+(?:is\s+|has been\s+)?(?:{_LOSES})")
_WINNER = re.compile(
    rf"\b(?:(?:scared|afraid|fearful|wary|terrified) of|(?:{_LOSES})(?:\s+to)?)"
    rf"\s+{_NAME.format('winner')}"
)


def competitive_words(text: str) -> list[str]:
    """The phrases in `text` that tell of one competitor winning over another."""
    return [m.group(0) for p in (_LOSER_AFTER, _LOSER_BEFORE, _WINNER) for m in p.finditer(text)]


def competitors(text: str) -> tuple[set[str], set[str]]:
    """(losers, winners) of the competitive stories in `text`, case-folded single words."""
    losers = {
        m.group("loser").casefold() for p in (_LOSER_AFTER, _LOSER_BEFORE) for m in p.finditer(text)
    }
    return losers, {m.group("winner").casefold() for m in _WINNER.finditer(text)}


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
    """The category as the client reads it. In a competitive story (risk) the client that
    loses reads risk; the client that wins, or that is named where another loses, reads
    product. The client's products are among its keywords ("Microsoft Teams"). A headline about
    the client and its own offering (an offering's word, or one of the company's keywords)
    that no rule placed is product, not other. Neither applies to a client that has no
    products in the article (`company_news` False)."""
    if not company_news:
        return category
    if category == "other":
        own_offering = _OFFERING.search(title) or _mentions(title, keywords)
        about_client = _mentions(title, names) or (
            _mentions(title, keywords) and _mentions(body, names)
        )
        return "product" if own_offering and about_client else category
    if category != "risk":
        return category
    text = f"{title}\n{body}"
    losers, winners = competitors(text)
    own = (*names, *keywords)
    if _among(losers, own):
        return category
    if _among(winners, own) or (losers and _mentions(text, names)):
        return "product"
    return category
