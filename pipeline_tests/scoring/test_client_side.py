"""A news category is read from the client's side: a competitor winning is a risk for the one
losing and product news for the one winning."""

from pipeline.lib.scoring.categories import classify
from pipeline.lib.scoring.client_side import from_client_side
from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import Article, ClientProfile

TITLE = "New survey shows Contoso Chat is stomping Fabrikam"
TEXT = "Workplace messaging app Fabrikam is losing ground to Contoso Chat in large companies."
WINNER = ClientProfile("c", "t", "Contoso Ltd", aliases=("Contoso",), keywords=("Contoso Chat",))
LOSER = ClientProfile("f", "t", "Fabrikam, Inc.", aliases=("Fabrikam",))


def category(client: ClientProfile) -> str:
    (score,) = LocalScorer().score_news([(client, Article("a", TITLE, TEXT))])
    return score.category


def test_the_loser_reads_risk_and_the_winner_reads_product():
    assert category(LOSER) == "risk"
    assert category(WINNER) == "product"


def test_other_categories_are_the_same_from_either_side():
    title, text = "Contoso sues Fabrikam over patents", "The lawsuit was filed in Delaware."
    found, _ = classify(title, text)
    assert from_client_side(found, title, text, ["Contoso"]) == "legal_regulatory"
    assert from_client_side(found, title, text, ["Fabrikam"]) == "legal_regulatory"


def test_government_policy_in_portuguese_is_legal_regulatory():
    found, _ = classify(
        "Ministro defende testes de idade a jovens migrantes",
        "O Governo quer mudar a lei do asilo.",
    )
    assert found == "legal_regulatory"


def test_the_openai_prompt_states_exclusions_as_kinds_and_the_clients_side():
    from pipeline.lib.scoring.prompts import GRANT_SYSTEM, NEWS_SYSTEM, news_messages

    assert "kind of item" in NEWS_SYSTEM and "holdings filings" in NEWS_SYSTEM
    assert "risk for the client that loses and product for the client" in NEWS_SYSTEM
    assert "client's languages" in NEWS_SYSTEM
    assert "kind of grant" in GRANT_SYSTEM
    _, user = news_messages(LOSER, Article("a", TITLE, TEXT))
    assert '"name": "Fabrikam, Inc."' in user["content"]


def test_news_of_the_clients_own_offering_is_product_not_other():
    title = "Contoso plots expansion into home robots and smart displays"
    found, _ = classify(title, "")
    assert found == "other"  # no keyword rule places it
    assert from_client_side(found, title, "", ["Contoso"]) == "product"
    # Someone else's offering, or the client's news of another kind, stays where it was.
    assert from_client_side(found, title, "", ["Fabrikam"]) == "other"
    office = "Contoso opens an office in Lisbon"
    assert from_client_side(classify(office, "")[0], office, "", ["Contoso"]) == "other"


def test_competitive_wins_worded_other_ways_are_read_from_each_side():
    for title in (
        "Contoso Chat now has more daily users than Fabrikam",
        "Fabrikam falls behind Contoso Chat in large companies",
        "Contoso Chat overtakes Fabrikam as the most used workplace app",
        "Rival apps are scared of Contoso Chat",
    ):
        (loser, winner) = LocalScorer().score_news(
            [(LOSER, Article("a", title, "")), (WINNER, Article("a", title, ""))]
        )
        assert loser.category in ("risk", "other"), title
        assert winner.category == "product", title
    assert from_client_side("risk", "Fabrikam falls behind Contoso", "", ["Fabrikam"]) == "risk"
    # An earnings beat is no competitor's win.
    assert classify("Contoso beats Wall Street estimates as revenue grows", "")[0] == (
        "financial_results"
    )


def test_the_clients_own_product_named_in_the_headline_is_product():
    title = "Lumen 3 gets a brighter screen and a new look"
    found, _ = classify(title, "")
    body = "Contoso said the redesign reaches every owner this month."
    assert from_client_side(found, title, body, ["Contoso"], ["Lumen"]) == "product"
    # Not when the client is not named at all, nor for a client followed by its topics.
    assert from_client_side(found, title, "", ["Contoso"], ["Lumen"]) == found
    assert from_client_side("other", title, body, ["Contoso"], ["Lumen"], False) == "other"
