"""The fixed set of news categories and the keyword rules the local scorer uses for them."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
        # A company taking a stake; a fund raising or cutting its holding is trading in stock.
        r"(?:takes?|took|taking|acquires?|acquired|buys?|bought) (?:an? |its )?(?:[\w%.]+ )?stake in",
        # A change of owner, in the languages clients read.
        r"new owners?|chang(?:e|es|ed) (?:hands|owners?|ownership)|sold to",
        r"(?:wechsel\w*|neue[rn]?) (?:\w+ )?(?:den )?besitzer|übernahme\w*|übernimmt|übernommen",
        r"aquisiç(?:ão|ões)|adquir(?:e|iu|ida|ido)|fus(?:ão|ões)|nov[oa]s? don[oa]s?",
    ],
    "funding": [
        r"rais(?:e|es|ed|ing) \$?\d",
        r"funding(?: round)?",
        r"series [a-f]",
        r"seed round",
        r"venture capital",
        r"valuation",
        r"ipo",
        r"direct listing",
        r"goes public",
        r"backed by",
    ],
    "leadership_change": [
        # A change of people, not a mention of a role: "CEO sells shares" is not a leadership
        # change, "names new CEO" is.
        r"appoint(?:s|ment)?|appointed(?! by)",  # "the director, appointed by ...": no change
        r"names? (?:a |its )?(?:new |interim )?(?:chief|president|chair|ceo|cfo|cto|coo|head)\w*",
        r"(?:new|interim|incoming|former) (?:ceo|cfo|cto|coo|chief executive|president|chair\w*)",
        r"resign(?:s|ed|ation)?",
        r"steps? down",
        r"step(?:ping|ped) down",
        r"successor",
        r"succeed(?:s|ed)?",
        r"retir(?:e|es|ed|ement)",
        r"new head of",
        r"ousted",
        r"hires?|hired",
        r"joins? as",
        r"nov[oa] (?:presidente|diretora?|directora?|administradora?|ceo|líder)|nomead[oa]",
        r"demissão|demite-se|demitiu-se",
        r"neue[rn]? (?:chef\w*|vorstand\w*|geschäftsführer\w*|präsident\w*)|rücktritt|ernannt",
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
        r"ftc|sec|doj|fbi|gdpr",
        r"anti-?fraud|antifraude",  # an office that investigates fraud, not a fraud
        r"complian(?:ce|t)",
        r"ruling",
        r"patents?",
        r"class action|litigation|plaintiffs?|law firm",
        r"subpoena",
        r"banned|bans",
        # Government policy and justice, in English and the other languages clients read.
        r"deport\w*|asyl\w*|asilo",
        r"governments?|administration|legislat\w*|laws?|lawmakers?",
        # A government's policy, not a platform's ("ad policy").
        r"(?:public|government|federal|state|national|foreign|immigration|migration|asylum"
        r"|climate|environmental|energy|trade|tax|drug|health) polic(?:y|ies)",
        r"congress\w*|parliament\w*|senate|senators?|executive orders?|decrees?|visas?",
        r"sanctions?|sentenc(?:e|ed|ing)|prison|jail(?:ed)?|convict(?:ed|ion)|indict\w*",
        r"prosecut\w*|arrest(?:s|ed)?|inquiry|testif(?:y|ied|ies)|testimony|depoimento",
        # A government cutting what it funds or protects.
        r"(?:budget|spending|funding|aid) cuts|cuts? (?:to|in) (?:public|federal|state) \w+",
        r"(?:cut|cuts|cutting|cortar|corta|corte) (?:\w+ )?(?:the |a )?(?:aid|ajuda|funding)",
        r"governo|gobierno|regierung|bundesregierung",
        r"ministr[oa]s?|minister(?:in|s)?|ministry|ministério",
        r"gesetz\w*|leis?|ley|tribunal|gericht\w*|urteil\w*|verurteil\w*|behörde\w*",
        # Taxes are set by governments ("IRS" is the US tax office and Portugal's income tax).
        r"taxes|income tax|tax (?:bill|reform|cuts?|rises?|hikes?|breaks?|exemptions?|rules?)|irs",
        r"impostos?|imposto de renda|steuern|steuer(?:reform|gesetz|senkung|erhöhung)\w*",
        r"detid[oa]s?|deteve|detenç(?:ão|ões)|presos?|festgenommen|festnahme\w*|verhaftet\w*",
        r"condenad[oa]s?|prisão|justiça|julgamento|decreto|investiga(?:ção|ções|r)|inquérito",
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
        # Trading in the company's stock is market news about it, not a leadership change.
        r"sells? [\d,.$]+ (?:shares|in stock)",
        r"sold [\d,.]+ shares",
        r"insider (?:selling|buying|sells|buys)",
        r"stocks?",
        r"shares",
        r"price target",
        r"(?:outperform|underperform|overweight|underweight)",
        r"cash flow",
        r"margins?",
        r"(?:reduces|raises|increases|cuts|trims) (?:its )?stake",
        r"nasdaq|nyse",
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
        # A labour strike; "strikes a deal" is an agreement.
        r"strikes?(?!\s+(?:an?\s+)?(?:\w+\s+)?(?:deal|agreement|pact|partnership))",
        r"shortages?",
        r"scandal",
        r"fraud",
        r"leak(?:s|ed)?",
        r"crash(?:es|ed)?",
        r"delay(?:s|ed)?",
        r"(?:losing|loses|lost) (?:ground|share|customers)",
        r"(?:scared|afraid|fearful|wary|terrified) of",
        # Something going wrong for the client's customers.
        r"errors?|erros?|fehler|glitch(?:es)?|malfunction\w*|falhas?|avarias?|störung\w*",
        r"overcharg\w*|cobr\w* a mais",
        # Violence and accidents: harm to people (a death of old age is not one).
        r"attacks?|assassinat\w*|gunm[ae]n|grenades?|bombings?|killed|matou|mortos",
        r"accidents?|acidentes?|unf[aä]ll\w*|ataques?|atentados?|angriff\w*|anschl[aä]g\w*",
        r"threat(?:s|en|ens|ened)?",
        r"rivals?",
        r"competitors?",
        r"stomp\w*",
        r"backlash",
        # Disasters, in the languages clients read.
        r"storms?|floods?|flooding|droughts?|wildfires?|hurricanes?|earthquakes?|oil spills?",
        r"outbreaks?|epidemic|tempestades?|inundaç(?:ão|ões)|incêndios?|unwetter|überschwemmung\w*",
    ],
    "product": [
        r"launch(?:es|ed|ing)?|lança|lançou|lançamento|estreia\w*|estreou",
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
        r"api",
        r"v\d{3,}",
        r"versions?",
        r"sunset\w*",
        r"deprecat\w*",
        # A product retired, and a product's price.
        r"shuts? down|shutting down|discontinu\w*|descontinu\w*|encerra\w*|eingestellt",
        r"coupons?|discount\w*|save up to|price cuts?|descontos?|rabatt\w*",
        r"migrat\w*",
        r"client librar(?:y|ies)",
        r"announc(?:e|es|ed|ing) (?:the )?(?:release|launch|availability|v\d)",
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
