"""The labelled evaluation sets are well-formed, refer to items without copying their text, and
the local scorer keeps its measured figures on them.

Each figure's floor sits just under what main's local scorer measured when it was set
(2026-12-06), so a regression of a few points fails; raise a floor when the scorer improves.
labels.jsonl was written while looking at the scorer's output (a regression check only);
labels_blind.jsonl's held-out part is the one reported against the targets."""

import re

from pipeline.lib.scoring.categories import NEWS_CATEGORIES
from pipeline.lib.scoring.local import LocalScorer, client_names
from pipeline_tests.scoring.evaluation import (
    BLIND_LABELS,
    evaluate,
    load_item,
    load_labels,
    load_profiles,
    reports,
    score_pairs,
)


def test_labels_are_well_formed_and_cover_both_kinds():
    """labels.jsonl."""
    labels = load_labels()
    orgs, clients = load_profiles()
    assert len(labels) >= 200
    assert {p.kind for p in labels} == {"grant", "news"}
    assert len({(p.subject_id, p.item_ref) for p in labels}) == len(labels)
    for pair in labels:
        assert pair.label in (0, 1)
        assert len(pair.reason) > 20 and pair.reason.endswith(".")
        assert pair.subject_id in (orgs if pair.kind == "grant" else clients)
    assert sum(p.label for p in labels if p.kind == "grant") >= 15
    assert sum(p.label for p in labels if p.kind == "news") >= 15


def test_items_resolve_and_reasons_do_not_copy_article_text(realdata):
    """labels.jsonl."""
    for pair in load_labels():
        item = load_item(pair.item_ref, realdata)
        assert item.title
        # News text belongs to its publishers; grant titles are US-government programme names.
        if pair.kind == "news" and pair.item_ref.startswith("realdata:") and len(item.title) > 25:
            assert item.title.lower() not in pair.reason.lower()


def test_local_scorer_keeps_its_figures_on_labels_jsonl(realdata):
    """labels.jsonl at threshold 0.5; measured F1: grant 0.927, news 0.947, all 0.940."""
    results = evaluate(LocalScorer(), realdata)
    assert results["grant"].f1 >= 0.90
    assert results["news"].f1 >= 0.92
    assert results["all"].f1 >= 0.92


# The two reasons most negatives of the blind set share: fine where nothing in the item points
# at the profile, not where one of the profile's own terms appears in it.
STOCK_REASONS = {
    "The grant's purpose is outside this profile's work.",
    "Nothing in the item concerns this client's business or topics.",
}


def profile_terms(pair, orgs, clients) -> list[str]:
    """The words a keyword matcher would look for: the org's keywords and focus areas; the
    client's keywords, topics and names."""
    if pair.kind == "grant":
        org = orgs[pair.subject_id]
        return [*org.keywords, *org.focus_areas]
    client = clients[pair.subject_id]
    return [*client.keywords, *client.topics, *client_names(client)]


def test_blind_set_is_well_formed(realdata):
    """labels_blind.jsonl: every pair, and a specific reason for each negative a keyword would
    have matched."""
    labels = load_labels(BLIND_LABELS)
    orgs, clients = load_profiles()
    assert len({(p.subject_id, p.item_ref) for p in labels}) == len(labels)
    near_misses = 0
    for pair in labels:
        assert pair.subject_id.startswith("blind-")
        assert pair.subject_id in (orgs if pair.kind == "grant" else clients)
        assert len(pair.reason) > 20 and pair.reason.endswith(".")
        if pair.kind == "news" and pair.label:
            assert pair.category in NEWS_CATEGORIES, pair
        if pair.label:
            continue
        item = load_item(pair.item_ref, realdata)
        text = f"{item.title} {item.description}"
        matched = [
            term
            for term in profile_terms(pair, orgs, clients)
            if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE)
        ]
        if matched:
            near_misses += 1
            assert pair.reason not in STOCK_REASONS, (pair.subject_id, pair.item_ref, matched)
    assert near_misses >= 10  # the check has pairs to check


def test_blind_split_holds_enough_of_the_labels_file_on_each_side(realdata):
    """labels_blind.jsonl as split: both parts hold a fair share of the pairs and relevant pairs
    of both kinds; the held-out part enough positives for its targets to mean something; and no
    article or grant sits in both parts under two references (the hash splits by reference)."""
    labels = load_labels(BLIND_LABELS)
    held_out = [p for p in labels if p.held_out]
    tuning = [p for p in labels if not p.held_out]
    for part in (held_out, tuning):
        assert 0.35 <= len(part) / len(labels) <= 0.65
        assert {p.kind for p in part if p.label} == {"grant", "news"}
    assert sum(p.label for p in held_out if p.kind == "grant") >= 5
    assert sum(p.label for p in held_out if p.kind == "news") >= 30

    def titles(part):
        return {load_item(p.item_ref, realdata).title.strip().lower() for p in part}

    assert not titles(held_out) & titles(tuning)


def test_blind_items_resolve_without_copying_their_text(realdata):
    """labels_blind.jsonl."""
    for pair in load_labels(BLIND_LABELS):
        item = load_item(pair.item_ref, realdata)
        assert item.title
        # News text belongs to its publishers; grant titles are US-government programme names.
        if pair.kind == "news" and len(item.title) > 25:
            assert item.title.lower() not in pair.reason.lower()


def test_local_scorer_meets_the_targets_on_the_held_out_part(realdata):
    """labels_blind.jsonl, held-out part, at the users' default threshold 0.6. Measured
    2026-12-07: grant F1 1.000 / AP 1.000 (6 positives), news F1 0.925 / AP 0.976 / category
    accuracy 0.861 (36 positives), all F1 0.937."""
    held_out = [p for p in load_labels(BLIND_LABELS) if p.held_out]
    by_kind, by_profile = reports(score_pairs(LocalScorer(), held_out, realdata), 0.6)
    assert by_kind["grant"].metrics.f1 >= 0.95
    assert by_kind["grant"].average_precision >= 0.95
    assert by_kind["news"].metrics.f1 >= 0.92
    assert by_kind["news"].average_precision >= 0.93
    assert by_kind["news"].category_accuracy >= 0.85
    assert by_kind["all"].metrics.f1 >= 0.93
    for subject, report in by_profile.items():
        if report.positives:
            assert report.metrics.recall > 0, subject


def test_scores_spread_out_rather_than_bunching(realdata):
    """labels_blind.jsonl, both parts: relevant articles do not all get one score (the old
    scorer gave 9 of 11 exactly 0.9)."""
    scored = score_pairs(LocalScorer(), load_labels(BLIND_LABELS), realdata)
    relevant = [round(s.score, 2) for s in scored if s.pair.kind == "news" and s.score >= 0.6]
    most_common = max(relevant.count(v) for v in set(relevant))
    assert len(set(relevant)) >= 8 and most_common / len(relevant) < 0.35
