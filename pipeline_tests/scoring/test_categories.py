"""News categories as a reader gives them, from the client's side: government policy, lawsuits,
arrests and sentences are legal_regulatory; a headline warning of harm is risk unless a policy
is the harm; opinion pieces are other; an article that concerns a client only through its
topics is not news of the client's products or finances. Measured on the category cases
(labels_categories.jsonl: real tuning-side items, labelled before they were scored)."""

from pipeline.lib.scoring.categories import classify
from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import Article, ClientProfile
from pipeline_tests.scoring.evaluation import (
    BLIND_LABELS,
    CATEGORY_CASES,
    SECOND_LABELS,
    load_item,
    load_labels,
    reports,
    score_pairs,
)

LANDS = ClientProfile(
    "lands", "t", "Open Range", topics=("public lands", "wildlife", "national monuments")
)


def category(client: ClientProfile, title: str, body: str = "") -> str:
    (score,) = LocalScorer().score_news([(client, Article("a", title, body))])
    return score.category


def test_a_policy_is_legal_regulatory_even_when_it_threatens_the_cause():
    title = "How the new cuts to public lands threaten wildlife corridors"
    body = "The administration has shrunk two national monuments this year."
    assert category(LANDS, title, body) == "legal_regulatory"


def test_a_headline_warning_of_harm_is_risk():
    title = "Poachers' snares are endangering wildlife across public lands, rangers warn"
    assert category(LANDS, title, "Rangers found hundreds of snares.") == "risk"
    # A passing warning in the text does not make a feature a risk story.
    feature = "Families return to the valley as public lands reopen"
    assert category(LANDS, feature, "Warning: this piece contains images of injured wildlife.") == (
        "other"
    )


def test_opinion_pieces_are_other():
    assert classify("We owe it to ourselves to save our wildlife | Jane Doe", "")[0] == "other"
    assert classify("Opinion: the lawsuit against the ban is right", "")[0] == "other"
    # A publication's name after the bar is not a byline.
    assert classify("Court fines Globex | The Register", "")[0] == "legal_regulatory"


def test_a_topic_client_does_not_read_product_or_market_news():
    found = "Rangers release a new survey of wildlife on public lands, with features on its trails"
    assert category(LANDS, found) != "product"
    company = ClientProfile("acme", "t", "Acme Robotics", aliases=("Acme",))
    assert category(company, "Acme releases a new robot", "") == "product"


def test_justice_and_policy_words_in_english_and_portuguese():
    assert classify("Opposition leader sentenced to 20 more days in prison", "")[0] == (
        "legal_regulatory"
    )
    assert classify("Líder da oposição é condenado a mais 20 dias de prisão", "")[0] == (
        "legal_regulatory"
    )
    assert classify("Nokia strikes supplier deal with a chip maker", "")[0] != "risk"
    assert classify("Dock workers go on strike at the port", "")[0] == "risk"


def test_category_cases_are_tuning_side_items_and_well_formed(realdata):
    cases = load_labels(CATEGORY_CASES)
    blind = load_labels(BLIND_LABELS) + load_labels(SECOND_LABELS)
    held_out_titles = {
        load_item(p.item_ref, realdata).title.strip().lower() for p in blind if p.held_out
    }
    assert len({(p.subject_id, p.item_ref) for p in cases}) == len(cases) >= 15
    for case in cases:
        assert not case.held_out and case.label == 1 and case.category, case
        item = load_item(case.item_ref, realdata)
        assert item.title.strip().lower() not in held_out_titles
        assert len(case.reason) > 20 and item.title.lower() not in case.reason.lower()


def test_category_cases_are_read_as_a_reader_reads_them(realdata):
    """Measured 2026-12-07: 37 of 38 (16 first cases, 22 added for issue 26; all tuned on, so a
    regression check). The miss: a sports live blog whose passing "update"s read as product."""
    scored = score_pairs(LocalScorer(), load_labels(CATEGORY_CASES), realdata)
    by_kind, _ = reports(scored, 0.5)
    assert by_kind["news"].category_accuracy >= 0.93


def test_event_kinds_in_the_languages_clients_read():
    assert classify("Hosting-Plattform wechselt den Besitzer", "")[0] == "m_and_a"
    assert classify("Fundação tem uma nova presidente", "")[0] == "leadership_change"
    assert classify("Polícia deteve 300 pessoas durante o fim de semana", "")[0] == (
        "legal_regulatory"
    )
    assert classify("Pensões baixas ficam isentas de IRS", "")[0] == "legal_regulatory"
    assert classify("Erros na fatura levam operadora a cobrar a mais", "")[0] == "risk"
    assert classify("Acidente na autoestrada faz três mortos", "")[0] == "risk"


def test_a_funds_holding_is_stock_trading_and_a_company_taking_a_stake_is_a_deal():
    assert classify("Acme Capital Reduces Stake in Globex Inc", "")[0] == "financial_results"
    assert classify("Globex takes a 20% stake in Initech", "")[0] == "m_and_a"


def test_prices_and_retirements_are_product_news():
    assert classify("Globex laptop deals: save up to $300 with a coupon", "")[0] == "product"
    assert classify("Globex shuts down its photo sharing service", "")[0] == "product"


def test_a_documentary_is_background_for_a_topic_client():
    title = "The addiction documentary set to shock the country"
    body = "Law enforcement officials try to curb an epidemic."
    assert classify(title, body, company_news=False)[0] == "other"


def test_analyst_ratings_and_market_moves_are_financial_results():
    assert classify("Globex upgraded to Buy at Initech Securities", "")[0] == "financial_results"
    assert classify("Analyst downgrades Globex to Sell", "")[0] == "financial_results"
    assert classify("Globex Market Cap Tops $1 Trillion", "")[0] == "financial_results"
    # A software upgrade is not a rating.
    assert classify("Reminder: upgrade your API client to v5", "")[0] == "product"


def test_share_offerings_job_cuts_and_lawsuit_denials():
    assert classify("Globex Announces Pricing of Secondary Offering", "")[0] == "funding"
    assert classify("Globex to cut 500 jobs", "")[0] == "risk"
    assert classify("Globex denies allegations in shareholder suit", "")[0] == "legal_regulatory"


def test_developer_news_in_german():
    assert classify("Globex Studio 2 ist erschienen", "")[0] == "product"
    assert classify("Neu in Globex 4.6: lange Pfade", "")[0] == "product"
    assert classify("Globex kauft Initech", "")[0] == "m_and_a"
    assert classify("Kritische Sicherheitslücke in Globex entdeckt", "")[0] == "risk"
    assert classify("Globex verschiebt die Veröffentlichung erneut", "Mehr Zeit.")[0] == "risk"


def test_a_death_notice_is_no_harm_to_a_company():
    title = "Former Globex engineer killed in car crash aged 38"
    assert classify(title, "", company_news=True)[0] == "other"
    # For a client that follows road deaths as its cause it is the harm it works against.
    assert classify(title, "", company_news=False)[0] == "risk"
