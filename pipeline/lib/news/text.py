"""Text fingerprints: normalised text, exact content hashes and 64-bit SimHash for syndicated
copies (same story, small edits: a source suffix, a trimmed sentence)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pipeline.lib.text import plain_text

_WORD = re.compile(r"\w+", re.UNICODE)
_TRUNCATION = re.compile(r"(…|\.\.\.)?\s*\[\+\d+ chars\]$")
SIMHASH_BITS = 64
# Two articles whose SimHashes differ in at most this many bits are copies of one story. News
# texts are short, so a trimmed sentence moves a handful of bits; unrelated articles about the
# same client sit 20-32 bits apart.
NEAR_DUPLICATE_MAX_DISTANCE = 8
_WIRE_PREFIX = re.compile(r"^\(\s*[\w .&]{1,30}\)\s*[-–—]{1,2}\s*")


def clean_text(value: str | None) -> str:
    """Plain text from a provider field: HTML tags and entities removed, NewsAPI's
    '… [+1234 chars]' truncation marker dropped, whitespace collapsed."""
    return _TRUNCATION.sub("", plain_text(value)).strip()


def normalised_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


def text_hash(title: str, description: str) -> str:
    """Exact-content identity of an article: the same words in the same order."""
    words = normalised_words(f"{title} {description}")
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")


def syndication_text(title: str, description: str, source_name: str = "") -> str:
    """The text that identifies a story across outlets: the title without a trailing
    ' - <source>' and the description without a '(Reuters) -' wire prefix."""
    if source_name:
        title = re.sub(rf"\s+[-|–—]\s+{re.escape(source_name)}\s*$", "", title, flags=re.I)
    return f"{title} {_WIRE_PREFIX.sub('', description)}"


def simhash(text: str) -> int:
    """Charikar SimHash over case-folded words, as an unsigned 64-bit int. Similar texts get
    hashes a few bits apart."""
    features = normalised_words(text)
    if not features:
        return 0
    weights = [0] * SIMHASH_BITS
    for feature in features:
        value = _feature_hash(feature)
        for bit in range(SIMHASH_BITS):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit, weight in enumerate(weights) if weight > 0)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
