"""Scores spread over the range that means "relevant": the bundled sample organisations and
grants used to give four pairs exactly 1.00, which a person cannot rank."""

import datetime as dt
from pathlib import Path

import yaml

from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.scoring.local import LocalScorer, adjusted, similarity_score
from pipeline.lib.scoring.models import Grant, OrgProfile

ROOT = Path(__file__).parents[2] / "data"


def sample_pairs():
    grants = []
    with open_extract(ROOT / "samples/grants/grants_gov_extract.xml") as stream:
        for payload in iter_extract_records(stream):
            r = normalise_extract_record(payload)
            grants.append(
                Grant(
                    r.opportunity_number,
                    r.title,
                    r.agency or "",
                    r.description or "",
                    r.eligibility or "",
                    r.close_date,
                    r.award_floor,
                    r.award_ceiling,
                )
            )
    document = yaml.safe_load((ROOT / "config/organizations.yaml").read_text())
    orgs = []
    for entry in document["organizations"]:
        budget = entry.get("budget") or {}
        orgs.append(
            OrgProfile(
                entry["org_id"],
                entry["tenant"],
                entry["name"],
                mission=entry.get("mission", ""),
                focus_areas=tuple(entry.get("focus_areas", [])),
                keywords=tuple(entry.get("keywords", [])),
                eligibility_type=entry.get("eligibility_type"),
                geography=entry.get("geography"),
                budget_min=budget.get("min"),
                budget_max=budget.get("max"),
                not_a_fit=tuple(entry.get("not_a_fit", [])),
            )
        )
    return [(org, grant) for org in orgs for grant in grants]


def test_sample_matches_spread_below_one():
    scores = LocalScorer().score_grants(sample_pairs(), today=dt.date(2026, 11, 23))
    shown = [round(s.score, 2) for s in scores if s.score >= 0.6]
    assert len(shown) >= 6
    assert max(shown) < 0.99
    assert len(set(shown)) == len(shown), shown  # a person can rank every match
    assert max(shown) - min(shown) >= 0.2


def test_bonuses_lift_odds_and_never_reach_one():
    assert adjusted(0.95, 1.1) < 0.96
    assert adjusted(0.5, 1.1) > 0.5
    assert adjusted(0.8, 0.6) == 0.8 * 0.6  # penalties still multiply the score
    # The users' threshold stays where the tuning part put it.
    assert round(similarity_score(0.11), 4) == 0.6
    assert similarity_score(0.5) < 0.97
