"""A client that reads several languages finds news in each of them: its keywords match in any
case and in their other inflections (simplemma's lemmas, shipped in its wheel), and an article's
language is identified with lingua (its models ship in its wheel)."""

from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import Article, ClientProfile
from pipeline.lib.scoring.text import detect_language, lemma

NGO = ClientProfile(
    "ngo",
    "t",
    "Ponte Aberta",
    topics=("asylum", "migration policy", "refugees"),
    keywords=("migrante", "refugiados", "asilo", "Flüchtlinge", "Asyl"),
    languages=("en", "pt", "de"),
)


def score(title: str, text: str, client: ClientProfile = NGO):
    (result,) = LocalScorer().score_news([(client, Article("a", title, text))])
    return result


def test_portuguese_news_on_its_topics_scores_as_relevant():
    result = score(
        "Governo dá três meses para migrantes deixarem o país",
        "Os milhares de migrantes que entraram sem autorização serão detidos depois do prazo.",
    )
    assert result.relevance >= 0.6, result.reason
    assert "written in" not in result.reason


def test_german_inflections_of_a_keyword_match():
    result = score(
        "Bundesregierung plant neue Regeln für Flüchtlingen und Asylverfahren",
        "Der Flüchtling soll schneller eine Antwort auf seinen Antrag bekommen.",
    )
    assert result.relevance >= 0.5, result.reason


def test_a_language_the_client_does_not_read_is_still_marked_down():
    english_only = ClientProfile(
        "ngo-en", "t", "Open Door", keywords=("migrantes",), languages=("en",)
    )
    result = score(
        "Governo dá três meses para migrantes deixarem o país",
        "Os milhares de migrantes que entraram sem autorização serão detidos depois do prazo.",
        english_only,
    )
    assert "written in pt" in result.reason


def test_lemmas_come_from_the_packaged_tables():
    assert lemma("migrantes", ("pt",)) == "migrante"
    assert lemma("flüchtlinge", ("de",)) == "flüchtling"
    assert lemma("announcements", ("en",)) == "announcement"


def test_a_capitalised_keyword_does_not_meet_a_plain_word_by_its_lemma():
    client = ClientProfile("ms", "t", "Contoso", keywords=("Windows",), languages=("en",))
    result = score("Home owners replace old window frames", "A window costs more now.", client)
    assert result.relevance == 0.0


def test_the_language_is_identified_among_the_readers_and_the_known_languages():
    assert detect_language("Governo dá três meses para migrantes deixarem o país", ("en",)) == "pt"
    assert detect_language("Die Bundesregierung plant neue Regeln für Asylverfahren", ()) == "de"
    assert detect_language("The government gives migrants three months to leave", ()) == "en"
    # A language only a profile lists is told apart too.
    assert detect_language("Regeringen ger migranter tre månader att lämna landet", ("sv",)) == "sv"
    # Too short to tell: never held against an article.
    assert detect_language("Slack", ("en",)) is None
