"""The words that point to each news category, in the languages clients read (English,
Portuguese, German): the evidence the local scorer's classify() weighs."""

from __future__ import annotations

import re

CATEGORY_WORDS: dict[str, list[str]] = {
    "m_and_a": [
        r"acqui(?:re|res|red|ring|sition|sitions)",
        r"merg(?:er|ers|e|es|ed|ing)",
        r"takeover",
        r"buyout",
        # "Upgraded to Buy" is an analyst's rating, not a purchase.
        r"(?<!grade )(?<!graded )(?<!grades )(?<!rated )(?:to|will|agrees to|agreed to) buy",
        r"buys",
        r"divest\w*",
        r"spin-?off",
        # A company taking a stake; a fund raising or cutting its holding is trading in stock.
        r"(?:takes?|took|taking|acquires?|acquired|buys?|bought) (?:an? |its )?(?:[\w%.]+ )?stake in",
        # A change of owner, in the languages clients read.
        r"new owners?|chang(?:e|es|ed) (?:hands|owners?|ownership)|sold to",
        r"(?:wechsel\w*|neue[rn]?) (?:\w+ )?(?:den )?besitzer|übernahme\w*|übernimmt|übernommen",
        r"kauft|gekauft|wird teil von",
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
        r"(?:secondary|public|share|stock|follow-on|debt|bond|convertible notes?) offering",
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
        r"(?:shareholder|class-action|civil|federal|antitrust|patent|securities|defamation) suits?",
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
        # Analysts' ratings and the market's view of the stock.
        r"(?:upgrad|downgrad)\w* (?:\w+ ){0,3}to (?:buy|sell|hold|neutral|outperform|underperform"
        r"|overweight|underweight|equal[- ]?weight|market perform|strong buy)",
        r"(?:buy|sell|hold|neutral) rating|market cap\w*|sell-?off",
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
        r"(?:cut|cuts|cutting|slash\w*|eliminat\w*|shed\w*) (?:\w+ ){0,2}jobs|stellenabbau",
        r"job cuts",
        r"bankrupt\w*",
        r"downgrad\w*",
        r"vulnerabilit\w*|vulnerabilidades?|sicherheitslücke\w*",
        r"cyberattack\w*",
        r"ransomware",
        # A labour strike; "strikes a deal" is an agreement.
        r"strikes?(?!\s+(?:an?\s+)?(?:\w+\s+)?(?:deal|agreement|pact|partnership))",
        r"shortages?",
        r"scandal",
        r"fraud",
        r"leak(?:s|ed)?",
        r"crash(?:es|ed)?",
        r"delay(?:s|ed)?|verschieb\w*|verschoben|verzöger\w*|adiad[oa]s?|adia",
        # Something going wrong for the client's customers.
        r"errors?|erros?|fehler|glitch(?:es)?|malfunction\w*|falhas?|avarias?|störung\w*",
        r"overcharg\w*|cobr\w* a mais",
        # Violence and accidents: harm to people (a death of old age is not one).
        r"attacks?|assassinat\w*|gunm[ae]n|grenades?|bombings?|killed|matou|mortos",
        r"accidents?|acidentes?|unf[aä]ll\w*|ataques?|atentados?|angriff\w*|anschl[aä]g\w*",
        r"threat(?:s|en|ens|ened)?",
        r"rivals?",
        r"competitors?",
        # A named competitor winning is found by client_side.competitive_words.
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
        r"update[sd]?",
        r"beta|previews?|vorschau",
        # Releases and new versions in German and Portuguese.
        r"veröffentlich\w*|erschien\w*|erscheint|freigegeben|verfügbar|vorgestellt",
        r"stellt (?:\w+ ){1,4}vor|\w*features?|\w*funktionen|neu in|nova versão|disponível",
        r"what.s new in",
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
    for category, patterns in CATEGORY_WORDS.items()
}


def category_hits(text: str) -> dict[str, list[str]]:
    """Category → the words in `text` that point to it (empty categories left out)."""
    hits = {}
    for category, pattern in _COMPILED.items():
        found = [m.group(0).lower() for m in pattern.finditer(text)]
        if found:
            hits[category] = found
    return hits
