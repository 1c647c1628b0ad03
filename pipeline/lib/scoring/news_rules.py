"""News rules of the local scorer: the names an article may use for a client, the evidence that
an article is about the client (its name, keywords in the client's languages, topics), what
marks it down (exclusions, listings and ads, a language the client does not read), and a
summary that adds to the headline."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.lib.scoring.exclusions import excluded
from pipeline.lib.scoring.models import ClientProfile
from pipeline.lib.scoring.text import GENERIC_WORDS, detect_language, lemmas, tokens

_CORPORATE_SUFFIX = re.compile(
    r"[,.]?\s+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|ag|sa|group|holdings)\.?$",
    re.I,
)


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


def article_language(client: ClientProfile, title: str, body: str) -> str | None:
    """The language the article is written in, told apart among the client's and the known
    languages (None when unsure)."""
    return detect_language(f"{title}. {body}", tuple(client.languages))


_NONPROFIT = re.compile(r"\b(?:non-?profit|not-for-profit|ngo|charit(?:y|ies|able))\b", re.I)


def may_be_company_news(client: ClientProfile, found: Sequence[Evidence]) -> bool:
    """Whether an article can be news of the client's own products or finances: not for a
    nonprofit (its industry says so), nor where only the client's topics were found."""
    if client.industry and _NONPROFIT.search(client.industry):
        return False
    return not found or any(e.kind != "topic" for e in found)


@dataclass(frozen=True)
class Evidence:
    strength: float
    reason: str
    # What was found: the client's "name", one of its "keyword"s, or one of its "topic"s.
    kind: str


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


def _lemma_where(wanted: Sequence[str], title: set[str], body: Sequence[str]) -> str | None:
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
            in_title.append(
                Evidence(_NAME_STRENGTH["title"], f"names {name} in the headline", "name")
            )
        hits = _count(pattern, body)
        if hits:
            place = "body_repeated" if hits >= 2 else "body"
            in_body.append(Evidence(_NAME_STRENGTH[place], f"names {name} in the text", "name"))
    for named in (in_title, in_body):
        if named:
            found.append(max(named, key=lambda e: e.strength))
    # Lemmatised in the article's own language first, when the client reads it: a word that
    # is a form of different lemmas in two languages takes the article's.
    written_in = article_language(client, title, body)
    first = (written_in,) if written_in in client.languages else ()
    reader = tuple(dict.fromkeys((*first, *client.languages, "en")))

    # Worked out only when a keyword is not found as written. A capitalised keyword (Windows,
    # Flüchtlinge) only meets words written with a capital.
    @functools.cache
    def lemmatised(capitalised: bool) -> tuple[set[str], tuple[str, ...]]:
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
            found.append(
                Evidence(_KEYWORD_STRENGTH[where], f"is about {keyword} ({place})", "keyword")
            )
    title_words, body_words = set(tokens(title)), set(tokens(body))
    for topic in client.topics:
        words = [w for w in tokens(topic) if w not in GENERIC_WORDS]
        if not words:
            continue
        for place, present in (("title", title_words), ("body", body_words)):
            hit = [w for w in words if w in present]
            if len(hit) == len(words):
                found.append(
                    Evidence(_TOPIC_STRENGTH[place], f"is about {topic} (the {place})", "topic")
                )
                break
            # Half a phrase still counts a little when the matched word is the specific one
            # ("trafficking" of "human trafficking"), never for a one-word topic.
            if len(words) > 1 and hit and max(len(w) for w in hit) >= 6:
                found.append(
                    Evidence(_TOPIC_STRENGTH[f"{place}_partial"], f"touches on {topic}", "topic")
                )
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
        language = article_language(client, title, body)
        if language and language not in client.languages:
            wanted = "/".join(client.languages)
            penalties.append((0.4, f"is written in {language}, not {wanted}"))
    return penalties
