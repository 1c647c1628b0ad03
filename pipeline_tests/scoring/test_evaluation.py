"""The labelled evaluation set is well-formed, refers to items without copying their text, and
the local scorer reaches the F1 target on it."""

from pipeline.lib.scoring.categories import NEWS_CATEGORIES
from pipeline.lib.scoring.local import LocalScorer
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
    for pair in load_labels():
        item = load_item(pair.item_ref, realdata)
        assert item.title
        # News text belongs to its publishers; grant titles are US-government programme names.
        if pair.kind == "news" and pair.item_ref.startswith("realdata:") and len(item.title) > 25:
            assert item.title.lower() not in pair.reason.lower()


def test_local_scorer_reaches_the_f1_target(realdata):
    results = evaluate(LocalScorer(), realdata)
    assert results["all"].f1 >= 0.7
    assert results["grant"].f1 >= 0.7 and results["news"].f1 >= 0.7


def test_blind_set_is_well_formed_and_split_by_item():
    labels = load_labels(BLIND_LABELS)
    orgs, clients = load_profiles()
    assert len({(p.subject_id, p.item_ref) for p in labels}) == len(labels)
    for pair in labels:
        assert pair.subject_id.startswith("blind-")
        assert pair.subject_id in (orgs if pair.kind == "grant" else clients)
        assert len(pair.reason) > 20 and pair.reason.endswith(".")
        if pair.kind == "news" and pair.label:
            assert pair.category in NEWS_CATEGORIES, pair
    held_out = [p for p in labels if p.held_out]
    # Both parts hold relevant pairs of both kinds, and one item never sits in both parts.
    for part in (held_out, [p for p in labels if not p.held_out]):
        assert {p.kind for p in part if p.label} == {"grant", "news"}
    assert not {p.item_ref for p in held_out} & {p.item_ref for p in labels if not p.held_out}


def test_blind_items_resolve_without_copying_their_text(realdata):
    for pair in load_labels(BLIND_LABELS):
        item = load_item(pair.item_ref, realdata)
        assert item.title
        # News text belongs to its publishers; grant titles are US-government programme names.
        if pair.kind == "news" and len(item.title) > 25:
            assert item.title.lower() not in pair.reason.lower()


def test_local_scorer_meets_the_targets_on_the_held_out_part(realdata):
    """Issue 16's targets, at the users' default threshold 0.6, on pairs tuning never saw."""
    held_out = [p for p in load_labels(BLIND_LABELS) if p.held_out]
    by_kind, by_profile = reports(score_pairs(LocalScorer(), held_out, realdata), 0.6)
    assert by_kind["grant"].metrics.f1 >= 0.75
    assert by_kind["news"].metrics.f1 >= 0.75
    assert by_kind["news"].category_accuracy >= 0.7
    for subject, report in by_profile.items():
        if report.positives:
            assert report.metrics.recall > 0, subject


def test_scores_spread_out_rather_than_bunching(realdata):
    """Relevant articles do not all get one score (the old scorer gave 9 of 11 exactly 0.9)."""
    scored = score_pairs(LocalScorer(), load_labels(BLIND_LABELS), realdata)
    relevant = [round(s.score, 2) for s in scored if s.pair.kind == "news" and s.score >= 0.6]
    most_common = max(relevant.count(v) for v in set(relevant))
    assert len(set(relevant)) >= 8 and most_common / len(relevant) < 0.35
