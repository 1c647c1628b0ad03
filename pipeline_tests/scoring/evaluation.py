"""The scoring evaluation set: labelled (profile, item) pairs in
pipeline_tests/fixtures/scoring/labels.jsonl. Items are referenced by id and read from the
bundled samples or ../shared/realdata at run time, so no third-party article text is copied
into the repository."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import feedparser
import yaml

from pipeline.lib.grants.extract import iter_extract_records, normalise_extract_record, open_extract
from pipeline.lib.scoring.models import Article, ClientProfile, Grant, OrgProfile
from pipeline.lib.settings import settings
from pipeline.lib.text import plain_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scoring"
LABELS = FIXTURES / "labels.jsonl"
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


def load_labels() -> list[LabelledPair]:
    with LABELS.open(encoding="utf-8") as handle:
        return [LabelledPair(**json.loads(line)) for line in handle if line.strip()]


def load_profiles() -> tuple[dict[str, OrgProfile], dict[str, ClientProfile]]:
    document = yaml.safe_load(PROFILES.read_text(encoding="utf-8"))
    orgs = {
        o["org_id"]: OrgProfile(
            org_id=o["org_id"],
            tenant_id=o["tenant_id"],
            name=o["name"],
            mission=o.get("mission", ""),
            focus_areas=tuple(o.get("focus_areas", [])),
            keywords=tuple(o.get("keywords", [])),
            eligibility_type=o.get("eligibility_type"),
            budget_min=o.get("budget_min"),
            budget_max=o.get("budget_max"),
        )
        for o in document["organizations"]
    }
    clients = {
        c["client_id"]: ClientProfile(
            client_id=c["client_id"],
            tenant_id=c["tenant_id"],
            name=c["name"],
            aliases=tuple(c.get("aliases", [])),
            domain=c.get("domain"),
        )
        for c in document["clients"]
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


def evaluate(scorer, realdata: Path, threshold: float = 0.5) -> dict[str, Metrics]:
    """Precision/recall/F1 of `scorer` per kind (grant, news) and overall: a pair is predicted
    relevant when its score reaches `threshold`."""
    labels = load_labels()
    orgs, clients = load_profiles()
    grant_pairs = [
        (p, orgs[p.subject_id], load_item(p.item_ref, realdata))
        for p in labels
        if p.kind == "grant"
    ]
    news_pairs = [
        (p, clients[p.subject_id], load_item(p.item_ref, realdata))
        for p in labels
        if p.kind == "news"
    ]
    results = {"grant": Metrics(), "news": Metrics(), "all": Metrics()}
    grant_scores = scorer.score_grants([(o, g) for _, o, g in grant_pairs], today=GRANTS_TODAY)
    for (pair, _, _), score in zip(grant_pairs, grant_scores, strict=True):
        results["grant"].add(score.score >= threshold, pair.label)
        results["all"].add(score.score >= threshold, pair.label)
    news_scores = scorer.score_news([(c, a) for _, c, a in news_pairs])
    for (pair, _, _), score in zip(news_pairs, news_scores, strict=True):
        results["news"].add(score.relevance >= threshold, pair.label)
        results["all"].add(score.relevance >= threshold, pair.label)
    return results
