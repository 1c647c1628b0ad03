"""Okapi BM25 over a small in-memory corpus. DuckDB's fts extension is downloaded at first use
and the pipeline must work offline, so the index is plain Python (fast enough for the tens of
thousands of documents a day brings)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.lib.scoring.text import tokens


@dataclass
class BM25Index:
    """Documents are token lists; `k1` and `b` are the usual BM25 parameters."""

    documents: Sequence[Sequence[str]]
    k1: float = 1.2
    b: float = 0.75
    _term_freqs: list[Counter] = field(init=False, repr=False)
    _doc_freq: Counter = field(init=False, repr=False)
    _avg_len: float = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._term_freqs = [Counter(doc) for doc in self.documents]
        self._doc_freq = Counter()
        for freqs in self._term_freqs:
            self._doc_freq.update(freqs.keys())
        lengths = [len(doc) for doc in self.documents]
        self._avg_len = (sum(lengths) / len(lengths)) if lengths else 0.0

    @classmethod
    def from_texts(cls, texts: Sequence[str], **kwargs) -> BM25Index:
        return cls([tokens(t) for t in texts], **kwargs)

    def __len__(self) -> int:
        return len(self.documents)

    def idf(self, term: str) -> float:
        """Always positive (the +1 inside the log), so common terms still count a little."""
        value = self._idf.get(term)
        if value is None:
            n = len(self.documents)
            df = self._doc_freq.get(term, 0)
            value = self._idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return value

    def contains_all(self, doc_index: int, terms: Sequence[str]) -> bool:
        freqs = self._term_freqs[doc_index]
        return all(t in freqs for t in terms)

    def score(self, query: Sequence[str], doc_index: int) -> float:
        freqs = self._term_freqs[doc_index]
        length = len(self.documents[doc_index])
        norm = self.k1 * (1 - self.b + self.b * length / (self._avg_len or 1.0))
        total = 0.0
        for term in set(query):
            tf = freqs.get(term, 0)
            if tf:
                total += self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
        return total

    def scores(self, query: Sequence[str]) -> list[float]:
        return [self.score(query, i) for i in range(len(self.documents))]

    def search(self, query: str, limit: int = 10) -> list[tuple[int, float]]:
        """(document index, score) of the best matches, best first; zero scores left out."""
        ranked = sorted(
            ((i, s) for i, s in enumerate(self.scores(tokens(query))) if s > 0),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:limit]

    def vocabulary(self) -> Mapping[str, int]:
        """Every indexed token and the number of documents it is in."""
        return self._doc_freq

    def matched_terms(self, query: Sequence[str], doc_index: int) -> list[str]:
        """Query terms present in the document, rarest first: the 'why' of a lexical match."""
        freqs = self._term_freqs[doc_index]
        present = {t for t in query if t in freqs}
        return sorted(present, key=lambda t: (-self.idf(t), t))
