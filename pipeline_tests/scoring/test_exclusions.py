"""Exclusions bite as a reader means them: kinds of items, matched through their usual wording
and the inflections of their words, not a bag of words that must all appear."""

import datetime as dt

import pytest

from pipeline.lib.scoring.exclusions import excluded, parse
from pipeline.lib.scoring.local import LocalScorer
from pipeline.lib.scoring.models import Article, ClientProfile, Grant, OrgProfile

AGENCY = ClientProfile(
    "agency",
    "t",
    "Brightline Search Marketing",
    keywords=("AdWords API",),
    not_interested_in=("event announcements and recaps", "sample apps and demo projects"),
    languages=("en",),
)


def relevance(client: ClientProfile, title: str, text: str) -> float:
    (score,) = LocalScorer().score_news([(client, Article("a", title, text))])
    return score.relevance


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Sign up for the spring AdWords API workshops", "Seats are limited in each city."),
        ("AdWords API webinar on reporting, March 3", "Join our engineers live."),
        ("Slides and videos from the AdWords API summit", "Catch up on every talk."),
        ("Meet the Campaign Helper sample app for the AdWords API", "It shows bidding."),
    ],
)
def test_kinds_the_client_excludes_score_low(title, text):
    assert relevance(AGENCY, title, text) < 0.5


def test_news_of_the_kind_it_wants_still_scores_high():
    title = "AdWords API v201702 is released"
    text = "The new version adds bid modifiers for ad groups."
    assert relevance(AGENCY, title, text) >= 0.6


def test_an_exclusion_matches_inflections_and_usual_wordings_not_every_word():
    filings = ("routine insider share sales and holdings filings",)
    assert excluded(filings, "Acme (NYSE:ACM) CFO Sells $1,234,567.00 in Stock", "")
    assert excluded(filings, "Big Fund LLC Trims Stake in Acme Corp", "")
    assert not excluded(filings, "Acme shares jump after record quarter", "Revenue rose 20%.")
    third_party = ("third-party products that merely run on Windows",)
    assert excluded(third_party, "Phone maker ships Windows-powered handsets", "")
    # "market research reports" is not a survey by a market research firm.
    research = ("market research reports",)
    assert not excluded(research, "Survey: rival gains on Acme", "A market research firm asked.")
    assert excluded(research, "Widget Market Report 2019: size and share", "")


def test_exclusion_parts_are_split_and_stated_as_written():
    exclusion = parse("event announcements and recaps")
    assert exclusion.parts == (("event", "announcement"), ("recap",))
    assert exclusion.phrase == "event announcements and recaps"


def test_a_grant_of_an_excluded_kind_is_marked_down_with_the_reason():
    org = OrgProfile(
        "org",
        "t",
        "Shoreline Trust",
        mission="Restores salt marshes and oyster reefs.",
        keywords=("salt marsh", "oyster reef"),
        not_a_fit=("conference and event sponsorships",),
    )
    grant = Grant(
        "g1",
        title="Salt marsh restoration conference sponsorship",
        description="Sponsors a conference on salt marsh and oyster reef restoration.",
        close_date=dt.date(2099, 1, 1),
    )
    (score,) = LocalScorer().score_grants([(org, grant)], today=dt.date(2026, 1, 1))
    assert any(r.startswith("not a fit: conference") for r in score.reasons)
    assert score.score < 0.5
