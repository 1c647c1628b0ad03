"""Entity resolution: one grant across sources, newest version kept, changes recorded once."""

import datetime as dt

from pipeline.lib.grants.entities import GrantIndex, IncomingRecord, new_grant_id, resolve
from pipeline.lib.grants.models import (
    GRANT_FEED,
    GRANTS_GOV_EXTRACT,
    GRANTS_GOV_SEARCH,
    SIMPLER_GRANTS,
    GrantRecord,
)

DAY = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)


def incoming(record: GrantRecord, *, at: dt.datetime = T0, day: dt.date = DAY, sample=True):
    return IncomingRecord(record, f"ev-{record.provider}-{record.source_id}", sample, at, day)


def extract_record(**overrides) -> GrantRecord:
    fields = {
        "provider": GRANTS_GOV_EXTRACT,
        "source_id": "350001",
        "opportunity_id": "350001",
        "opportunity_number": "ED-GRANTS-030126-001",
        "title": "Youth STEM After-School Program",
        "agency": "Department of Education",
        "description": "After-school STEM programmes for middle school students.",
        "close_date": dt.date(2027, 3, 15),
        "award_ceiling": 250_000.0,
        "source_updated_at": dt.datetime(2026, 2, 20, tzinfo=dt.UTC),
    }
    return GrantRecord(**{**fields, **overrides})


def test_sources_join_on_opportunity_id_number_and_title():
    extract = extract_record()
    simpler = GrantRecord(
        provider=SIMPLER_GRANTS,
        source_id="5b1c-uuid",
        opportunity_id="350001",  # legacy_opportunity_id
        title="Youth STEM After-School Program (updated)",
        agency="Department of Education",
    )
    search = GrantRecord(
        provider=GRANTS_GOV_SEARCH,
        source_id="hit-9",
        opportunity_number="ed-grants-030126-001",  # same number, other spelling
        title="Youth STEM after-school program",
    )
    feed = GrantRecord(
        provider=GRANT_FEED,
        source_id="https://funder.example.org/youth-stem",
        record_type="feed_item",
        title="Youth  STEM After-School Program",
        agency="Department of Education",
    )
    result = resolve(
        [incoming(extract), incoming(simpler), incoming(search), incoming(feed)], GrantIndex(), T0
    )
    assert list(result.grants) == ["gg-350001"]
    assert {s["grant_id"] for s in result.sources} == {"gg-350001"}
    assert result.grants["gg-350001"]["providers"] == sorted(
        [GRANTS_GOV_EXTRACT, SIMPLER_GRANTS, GRANTS_GOV_SEARCH, GRANT_FEED]
    )
    assert result.new_grants == 1


def test_same_title_but_different_opportunity_ids_stay_two_grants():
    first = extract_record()
    second = extract_record(source_id="350002", opportunity_id="350002", opportunity_number="X-2")
    result = resolve([incoming(first), incoming(second)], GrantIndex(), T0)
    assert sorted(result.grants) == ["gg-350001", "gg-350002"]


def test_newer_version_wins_and_changes_are_recorded():
    index = GrantIndex()
    resolve([incoming(extract_record())], index, T0)
    newer = GrantRecord(
        provider=SIMPLER_GRANTS,
        source_id="uuid-1",
        opportunity_id="350001",
        title="Youth STEM After-School Program",
        close_date=dt.date(2027, 4, 30),
        award_ceiling=400_000.0,
        source_updated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    later_day = DAY + dt.timedelta(days=1)
    result = resolve([incoming(newer, day=later_day)], index, T0 + dt.timedelta(days=1))
    row = result.grants["gg-350001"]
    assert row["close_date"] == dt.date(2027, 4, 30) and row["award_ceiling"] == 400_000.0
    # What the newer record did not carry is kept, and the grant moves to the new partition.
    assert row["description"].startswith("After-school STEM")
    assert row["partition_date"] == later_day and row["provider"] == SIMPLER_GRANTS
    changes = {(c["field"], c["old_value"], c["new_value"]) for c in result.changes}
    assert changes == {
        ("close_date", "2027-03-15", "2027-04-30"),
        ("award_ceiling", "250000", "400000"),
    }
    assert result.updated_grants == 1


def test_older_record_only_fills_gaps():
    index = GrantIndex()
    resolve([incoming(extract_record())], index, T0)
    stale = GrantRecord(
        provider=SIMPLER_GRANTS,
        source_id="uuid-1",
        opportunity_id="350001",
        title="Old title",
        close_date=dt.date(2027, 1, 1),
        eligibility="Nonprofits having a 501(c)(3) status with the IRS",
        source_updated_at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
    )
    result = resolve([incoming(stale)], index, T0)
    row = result.grants["gg-350001"]
    assert row["close_date"] == dt.date(2027, 3, 15) and row["title"].startswith("Youth")
    assert row["eligibility"].startswith("Nonprofits")
    assert result.changes == []


def test_forecast_never_overrides_a_synopsis():
    index = GrantIndex()
    resolve([incoming(extract_record())], index, T0)
    forecast = extract_record(
        source_id="350001:forecast",
        record_type="forecast",
        status="forecasted",
        close_date=dt.date(2027, 9, 1),
        source_updated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    result = resolve([incoming(forecast)], index, T0)
    assert result.changes == []
    assert "gg-350001" not in result.grants or result.grants["gg-350001"]["close_date"] == dt.date(
        2027, 3, 15
    )


def test_reapplying_the_same_records_changes_nothing():
    index = GrantIndex()
    other = extract_record(
        source_id="x", opportunity_id="9", opportunity_number="N-9", title="Other"
    )
    records = [incoming(extract_record()), incoming(other)]
    first = resolve(records, index, T0)
    assert first.new_grants == 2
    again = resolve(records, index, T0 + dt.timedelta(hours=1))
    assert again.grants == {} and again.changes == [] and again.new_grants == 0


def test_a_live_record_makes_a_sample_grant_real():
    index = GrantIndex()
    resolve([incoming(extract_record())], index, T0)
    live = extract_record(source_id="hit", provider=GRANTS_GOV_SEARCH)
    result = resolve([incoming(live, sample=False)], index, T0)
    assert result.grants["gg-350001"]["is_sample"] is False


def test_new_ids_come_from_the_strongest_key():
    assert new_grant_id(extract_record()) == "gg-350001"
    numbered = GrantRecord(GRANTS_GOV_SEARCH, "h", "T", opportunity_number="HHS-2026-ACF-01")
    assert new_grant_id(numbered) == "num-hhs-2026-acf-01"
    titled = GrantRecord(GRANT_FEED, "u", "Arts Fund", record_type="feed_item")
    assert new_grant_id(titled).startswith("title-")
