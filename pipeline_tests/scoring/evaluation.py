"""The scoring evaluation sets: labelled (profile, item) pairs. Items are referenced by id and
read from the bundled samples or ../shared/realdata at run time, so no third-party article text
is copied into the repository.

- labels.jsonl (459 pairs): the original set. It was written while looking at the scorer's
  output, so its figures flatter the scorer; it is kept as a regression check only.
- labels_blind.jsonl: profiles and labels written BEFORE any of its pairs was scored, with a
  reason per positive and the category a reader gives each relevant article. Split by a hash of
  the item reference into a tuning part and a HELD-OUT part: tuning looks only at the tuning
  part; the held-out figures are the ones reported against the targets.
- labels_second.jsonl: a second blind set written the same way for issue 26.
- labels_categories.jsonl: category cases, relevant tuning-side items (never held-out ones)
  labelled with the category a reader gives them before they were scored; for tuning the
  category rules beyond the few relevant articles of the blind sets' tuning part."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import feedparser
import yaml

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.scoring.models import Article, ClientProfile, Grant, OrgProfile
from pipeline.lib.settings import settings
from pipeline.lib.text import plain_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scoring"
LABELS = FIXTURES / "labels.jsonl"
BLIND_LABELS = FIXTURES / "labels_blind.jsonl"
# Second blind set (issue 26): exclusions written as kinds of items, a client reading three
# languages, one story from two clients' sides. Labelled before scoring, split the same way.
SECOND_LABELS = FIXTURES / "labels_second.jsonl"
CATEGORY_CASES = FIXTURES / "labels_categories.jsonl"
PROFILES = FIXTURES / "eval_profiles.yaml"
# The realdata grants are from 2008-2010; scoring them "today" would mark every one closed.
GRANTS_TODAY = dt.date(2008, 1, 1)


@dataclass(frozen=True)
class LabelledPair:
    kind: str
    subject_id: str
    item_ref: str
    label: int
    reason: str
    category: str | None = None  # blind set: the category a reader gives a relevant article

    @property
    def held_out(self) -> bool:
        """Fixed by the item, so one item's pairs never straddle the two parts."""
        return int(hashlib.sha256(self.item_ref.encode()).hexdigest()[:8], 16) % 2 == 1


def load_labels(path: Path = LABELS) -> list[LabelledPair]:
    with path.open(encoding="utf-8") as handle:
        return [LabelledPair(**json.loads(line)) for line in handle if line.strip()]


def _profile(cls, entry: dict):
    """A profile from its YAML entry; list fields become tuples."""
    known = {f.name for f in dataclasses.fields(cls)}
    values = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in entry.items()
        if key in known
    }
    return cls(**values)


def load_profiles() -> tuple[dict[str, OrgProfile], dict[str, ClientProfile]]:
    """Every evaluation profile (original set, blind sets, category cases) by id."""
    document = yaml.safe_load(PROFILES.read_text(encoding="utf-8"))
    orgs = {
        o["org_id"]: _profile(OrgProfile, o)
        for o in [*document["organizations"], *document.get("blind_organizations", [])]
    }
    clients = {
        c["client_id"]: _profile(ClientProfile, c)
        for c in [
            *document["clients"],
            *document.get("blind_clients", []),
            *document.get("category_clients", []),
        ]
    }
    return orgs, clients


def _source_path(ref: str, realdata: Path) -> tuple[Path, str]:
    location, _, fragment = ref.partition("#")
    root, _, relative = location.partition(":")
    base = realdata if root == "realdata" else settings().samples_dir
    return base / relative, fragment


@cache
def _feed_entries(path: Path) -> list:
    return feedparser.parse(path.read_bytes().lstrip()).entries


@cache
def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _grants(path: Path) -> dict[str, Grant]:
    """The extract's grants by opportunity number, read by the pipeline's own parser."""
    grants = {}
    with open_extract(path) as stream:
        for payload in iter_extract_records(stream):
            record = normalise_extract_record(payload)
            grants[record.opportunity_number] = Grant(
                grant_id=record.opportunity_number,
                title=record.title,
                agency=record.agency or "",
                description=record.description or "",
                eligibility=record.eligibility or "",
                close_date=record.close_date,
                award_floor=record.award_floor,
                award_ceiling=record.award_ceiling,
            )
    return grants


def load_item(ref: str, realdata: Path) -> Grant | Article:
    path, fragment = _source_path(ref, realdata)
    if fragment.startswith("FundingOppNumber="):
        return _grants(path)[fragment.partition("=")[2]]
    collection, _, index_text = fragment.partition("/")
    index = int(index_text)
    if collection == "entries":
        entry = _feed_entries(path)[index]
        return Article(ref, plain_text(entry.get("title")), plain_text(entry.get("summary")))
    item = _json(path)[collection][index]
    return Article(
        ref,
        plain_text(item.get("title")),
        plain_text(item.get("description") or item.get("snippet")),
        source_name=str((item.get("source") or {}).get("name", ""))
        if isinstance(item.get("source"), dict)
        else str(item.get("source") or ""),
    )


@dataclass
class Metrics:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, label: int) -> None:
        if predicted and label:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def average_precision(ranked_labels: list[int]) -> float:
    """Mean precision at each relevant item of a best-first ranking (0 without positives)."""
    hits, total = 0, 0.0
    for rank, label in enumerate(ranked_labels, start=1):
        if label:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


@dataclass
class Scored:
    pair: LabelledPair
    score: float
    category: str | None = None


@dataclass
class Report:
    """Figures for one group of scored pairs (a kind, or one profile)."""

    metrics: Metrics
    average_precision: float
    positives: int
    category_correct: int
    category_total: int

    @property
    def category_accuracy(self) -> float | None:
        return self.category_correct / self.category_total if self.category_total else None


def report_of(scored: list[Scored], threshold: float) -> Report:
    metrics = Metrics()
    for item in scored:
        metrics.add(item.score >= threshold, item.pair.label)
    ranked = [s.pair.label for s in sorted(scored, key=lambda s: (-s.score, s.pair.item_ref))]
    labelled = [s for s in scored if s.pair.label and s.pair.category]
    return Report(
        metrics=metrics,
        average_precision=average_precision(ranked),
        positives=sum(s.pair.label for s in scored),
        category_correct=sum(s.category == s.pair.category for s in labelled),
        category_total=len(labelled),
    )


def score_pairs(scorer, labels: list[LabelledPair], realdata: Path) -> list[Scored]:
    """Every labelled pair scored by `scorer`, grants in one batch and news in another (as the
    assets do), in label order."""
    orgs, clients = load_profiles()
    grants = [p for p in labels if p.kind == "grant"]
    news = [p for p in labels if p.kind == "news"]
    grant_scores = scorer.score_grants(
        [(orgs[p.subject_id], load_item(p.item_ref, realdata)) for p in grants],
        today=GRANTS_TODAY,
    )
    news_scores = scorer.score_news(
        [(clients[p.subject_id], load_item(p.item_ref, realdata)) for p in news]
    )
    scored = [Scored(p, s.score) for p, s in zip(grants, grant_scores, strict=True)]
    scored += [Scored(p, s.relevance, s.category) for p, s in zip(news, news_scores, strict=True)]
    return scored


def reports(scored: list[Scored], threshold: float) -> tuple[dict[str, Report], dict[str, Report]]:
    """(per kind incl. 'all', per profile) reports."""
    by_kind: dict[str, list[Scored]] = {"grant": [], "news": [], "all": []}
    by_profile: dict[str, list[Scored]] = {}
    for item in scored:
        by_kind[item.pair.kind].append(item)
        by_kind["all"].append(item)
        by_profile.setdefault(item.pair.subject_id, []).append(item)
    return (
        {kind: report_of(items, threshold) for kind, items in by_kind.items()},
        {subject: report_of(items, threshold) for subject, items in sorted(by_profile.items())},
    )


def evaluate(scorer, realdata: Path, threshold: float = 0.5) -> dict[str, Metrics]:
    """Precision/recall/F1 of `scorer` on the original set per kind (grant, news) and overall:
    a pair is predicted relevant when its score reaches `threshold`."""
    by_kind, _ = reports(score_pairs(scorer, load_labels(), realdata), threshold)
    return {kind: report.metrics for kind, report in by_kind.items()}
