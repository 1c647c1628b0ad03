import datetime as dt

from pipeline.lib.scoring.bm25 import BM25Index
from pipeline.lib.scoring.categories import NEWS_CATEGORIES, classify
from pipeline.lib.scoring.local import LocalScorer, client_names, eligibility_verdict
from pipeline.lib.scoring.models import Article, ClientProfile, Grant, OrgProfile
from pipeline.lib.scoring.text import tokens
from pipeline_tests.scoring.conftest import CLIENTS, GRANTS, NEWS, ORGS

TODAY = dt.date(2026, 3, 2)


def _org(row: dict) -> OrgProfile:
    return OrgProfile(
        org_id=row["org_id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        mission=row["mission"],
        focus_areas=tuple(row["focus_areas"]),
        keywords=tuple(row["keywords"]),
        eligibility_type=row["eligibility_type"],
        budget_min=row["budget_min"],
        budget_max=row["budget_max"],
    )


def _grant(row: dict) -> Grant:
    return Grant(**row)


def test_tokens_stem_and_drop_stop_words():
    assert tokens("The Grants for <b>Youth</b> programs") == ["grant", "youth", "program"]
    assert tokens("") == []


def test_bm25_ranks_the_document_with_the_query_terms_first():
    index = BM25Index.from_texts(["youth literacy programs", "cardiology research", "literacy"])
    ranked = index.search("youth literacy")
    assert ranked[0][0] == 0
    assert {i for i, _ in ranked} == {0, 2}


def test_grant_scores_rank_the_fitting_grant_first_and_explain_it():
    scorer = LocalScorer()
    learn, heart = _org(ORGS[0]), _org(ORGS[1])
    grants = [_grant(g) for g in GRANTS]
    pairs = [(org, g) for org in (learn, heart) for g in grants]
    scores = {
        (o.org_id, g.grant_id): s
        for (o, g), s in zip(pairs, scorer.score_grants(pairs, TODAY), strict=True)
    }
    assert all(0 <= s.score <= 1 and 0 <= s.confidence <= 1 for s in scores.values())
    assert scores[("org-learn", "G-EDU")].score > 0.6
    assert scores[("org-learn", "G-EDU")].score > scores[("org-learn", "G-HEALTH")].score
    assert scores[("org-heart", "G-HEALTH")].score > scores[("org-heart", "G-EDU")].score
    # A closed grant scores zero however well it fits, and says why.
    closed = scores[("org-learn", "G-CLOSED")]
    assert closed.score == 0
    assert any("closed on" in r for r in closed.reasons)
    edu = scores[("org-learn", "G-EDU")]
    assert edu.scorer == "local" and edu.model == "bm25-rules-v1"
    assert any("eligible" in r for r in edu.reasons)
    assert scorer.stats.pairs == len(pairs)


def test_eligibility_rules_only_penalise_what_is_ruled_out():
    assert eligibility_verdict("nonprofit", "Nonprofits having a 501(c)(3) status")[0] > 1
    assert eligibility_verdict("nonprofit", "State governments; county governments")[0] < 0.5
    assert eligibility_verdict("nonprofit", "")[0] == 1
    assert eligibility_verdict(None, "State governments")[0] == 1
    assert eligibility_verdict("nonprofit", "Unrestricted (open to any type of entity)")[0] == 1


def test_amount_outside_budget_lowers_the_score():
    org = _org(ORGS[0])
    fits = Grant(**{**GRANTS[0], "grant_id": "a"})
    too_big = Grant(**{**GRANTS[0], "grant_id": "b", "award_floor": 2e6, "award_ceiling": 9e6})
    fit_score, big_score = LocalScorer().score_grants([(org, fits), (org, too_big)], TODAY)
    assert big_score.score < fit_score.score
    assert any("award floor" in r for r in big_score.reasons)


def _client(row: dict) -> ClientProfile:
    return ClientProfile(
        client_id=row["client_id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        aliases=tuple(row["aliases"]),
        domain=row["domain"],
    )


def test_news_relevance_category_and_summary():
    clients = {c["client_id"]: _client(c) for c in CLIENTS}
    pairs = [
        (clients[n["client_id"]], Article(n["article_id"], n["title"], n["description"]))
        for n in NEWS[:3]
    ]
    deal, garden, ceo = LocalScorer().score_news(pairs)
    assert deal.category == "m_and_a" and deal.relevance >= 0.8
    assert garden.category == "other" and garden.relevance < 0.2
    assert ceo.category == "leadership_change" and ceo.relevance >= 0.8
    assert "Acme" in deal.reason and deal.reason.endswith(".")
    assert deal.summary.count(". ") <= 2 and len(deal.summary) <= 320
    assert all(s.category in NEWS_CATEGORIES for s in (deal, garden, ceo))


def test_client_names_strip_suffixes_and_use_the_domain():
    names = client_names(_client(CLIENTS[0]))
    assert {"Acme Robotics Inc.", "Acme Robotics", "Acme", "acmerobotics"} <= set(names)
    with_url = ClientProfile(
        "c", "t", "Northwind Robotics", (), "https://www.northwindrobotics.com/"
    )
    assert "northwindrobotics" in client_names(with_url)


def test_classify_prefers_headline_evidence():
    assert classify("Globex sued by FTC over data practices", "")[0] == "legal_regulatory"
    assert classify("Globex reports record quarterly revenue", "")[0] == "financial_results"
    assert classify("Globex launches new app", "")[0] == "product"
    assert classify("Helix reports positive Phase 2 data for its therapy", "")[0] == "product"
    assert classify("Hackers breach Globex servers", "")[0] == "risk"
    assert classify("Globex raises $50 million in Series B funding", "")[0] == "funding"
