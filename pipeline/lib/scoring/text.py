"""Tokenising shared by the local scorer and `pipeline search`: lower case, words and numbers,
stop words dropped, a light suffix stemmer so 'grants'/'granting' meet 'grant'; lemmas in the
reader's languages (simplemma) and the language a text is written in (lingua)."""

from __future__ import annotations

import functools
import re

import simplemma
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from pipeline.lib.text import plain_text

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOP_WORD_TEXT = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours new one two may must per via within without across etc us said says
    inc corp co ltd llc plc"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())
# Words that say nothing about a subject on their own ("military programmes" is about
# "military"): left out when matching topics and exclusions.
GENERIC_WORD_TEXT = """program programs programme programmes project projects work works service
    services activity activities initiative initiatives grant grants news report reports issue
    issues related product products"""
# The languages lemmatised with simplemma (its tables for them ship in its wheel).
_LEMMA_LANGUAGES = frozenset({"en", "pt", "de", "es", "fr", "it", "nl"})


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to join plurals and -ing/-ed forms of English words
    without a dependency. Short words are left alone."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, replacement in (
        ("ations", "ate"),
        ("ation", "ate"),
        ("ies", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + replacement
    return word


def tokens(text: str | None) -> list[str]:
    """Stemmed content words of `text`, in order."""
    if not text:
        return []
    words = _WORD.findall(plain_text(text).lower())
    return [stem(w) for w in words if w not in STOP_WORDS and len(w) > 1]


GENERIC_WORDS = frozenset(tokens(GENERIC_WORD_TEXT))


def surface_words(text: str | None) -> list[tuple[str, str]]:
    """(stemmed token, the word as written in lower case) of each content word of `text`."""
    if not text:
        return []
    words = _WORD.findall(plain_text(text).lower())
    return [(stem(w), w) for w in words if w not in STOP_WORDS and len(w) > 1]


# The languages an article is told apart from, besides those the profiles list: the ones
# lemmatised here, and two other scripts the feeds carry. Few candidates keep detection fast
# and its models small (lingua loads a language's model on first use, from its own wheel).
_DETECTED_LANGUAGES = (*sorted(_LEMMA_LANGUAGES), "ja", "zh")
# Fewer words than this say too little about their language to hold it against an article.
_MIN_WORDS_TO_DETECT = 4


@functools.lru_cache(maxsize=16)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    # A text whose two likeliest languages are this close is left undecided. Low-accuracy mode
    # (trigram models only): a headline and summary are long enough for it, and it loads in
    # under half the time and memory (docs/scoring.md has the figures).
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(0.1)
        .with_low_accuracy_mode()
        .build()
    )


def _detectable(code: str) -> bool:
    return len(code) == 2 and hasattr(IsoCode639_1, code.upper())


# One article is checked for many clients: it is identified once per set of languages.
@functools.lru_cache(maxsize=8192)
def detect_language(text: str, readers_languages: tuple[str, ...] = ()) -> str | None:
    """ISO 639-1 code of the language `text` is written in, told apart among the reader's
    languages and _DETECTED_LANGUAGES (lingua's models, shipped in its wheel); None when unsure
    (too short, or no language clearly ahead), so an unknown language is never held against it."""
    plain = plain_text(text)
    if len(_WORD.findall(plain)) < _MIN_WORDS_TO_DETECT:
        return None
    codes = {c.lower() for c in (*readers_languages, *_DETECTED_LANGUAGES)}
    found = _detector(tuple(sorted(c for c in codes if _detectable(c)))).detect_language_of(plain)
    return found.iso_code_639_1.name.lower() if found else None


@functools.lru_cache(maxsize=65536)
def lemma(word: str, languages: tuple[str, ...]) -> str:
    """The dictionary form of a lower-case word in the first of `languages` that knows it
    ('migrantes' → 'migrante', 'flüchtlinge' → 'flüchtling'); the word itself otherwise.
    simplemma's tables ship in its wheel: nothing is downloaded."""
    supported = tuple(code for code in languages if code in _LEMMA_LANGUAGES)
    if not supported or word.isdigit():
        return word
    return simplemma.lemmatize(word, lang=supported).lower()


# One article is scored against many clients: its lemmas are worked out once.
@functools.lru_cache(maxsize=4096)
def lemmas(
    text: str | None, languages: tuple[str, ...], capitalised_only: bool = False
) -> tuple[str, ...]:
    """Lemmas of the words of `text` (lower case, in order) in the reader's languages; with
    `capitalised_only`, of the words written with a capital only (names, German nouns)."""
    if not text:
        return ()
    words = _WORD.findall(plain_text(text))
    if capitalised_only:
        words = [w for w in words if w[0].isupper()]
    return tuple(lemma(w.lower(), languages) for w in words if len(w) > 1)
