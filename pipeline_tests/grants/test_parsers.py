"""NORMALISERS: one per provider, each reading the payloads its source stores, and the bundled
samples overlapping across sources the way entity resolution expects."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.lib.grants import parsers
from pipeline.lib.grants.extract import iter_extract_records, open_extract
from pipeline.lib.grants.feeds import grant_feed_items
from pipeline.lib.grants.models import (
    GRANT_FEED,
    GRANTS_GOV_EXTRACT,
    GRANTS_GOV_SEARCH,
    PROVIDERS,
    SIMPLER_GRANTS,
    GrantRecord,
    NotAGrantError,
)
from pipeline.lib.grants.parsers import NORMALISERS
from pipeline.lib.grants.search2 import search2_hits
from pipeline.lib.grants.simpler import simpler_items


def sample_payloads(samples: Path) -> dict[str, list[dict]]:
    with open_extract(samples / "grants_gov_extract.xml") as stream:
        extract = list(iter_extract_records(stream))
    feeds = [
        item
        for name in ("community_foundation.xml", "green_futures_fund.atom")
        for item in grant_feed_items((samples / "feeds" / name).read_bytes(), name)
    ]
    return {
        GRANTS_GOV_EXTRACT: extract,
        GRANTS_GOV_SEARCH: search2_hits(
            json.loads((samples / "grants_gov_search2.json").read_text())
        )[0],
        SIMPLER_GRANTS: simpler_items(
            json.loads((samples / "simpler_grants_search.json").read_text())
        )[0],
        GRANT_FEED: feeds,
    }


def test_one_normaliser_per_provider():
    assert set(NORMALISERS) == set(PROVIDERS)
    assert parsers.__all__ == ["NORMALISERS"]


def test_every_sample_payload_normalises_after_a_json_round_trip(samples: Path):
    for provider, payloads in sample_payloads(samples).items():
        assert payloads, provider
        ids = set()
        for payload in payloads:
            try:
                record = NORMALISERS[provider](json.loads(json.dumps(payload)))
            except NotAGrantError:
                assert "annual report" in payload["title"]  # the one news post of a funder
                ids.add(payload["id"])
                continue
            assert isinstance(record, GrantRecord)
            assert record.provider == provider
            json.dumps(record.extra)
            ids.add(record.source_id)
        assert len(ids) == len(payloads), f"{provider} source ids are not unique"


def test_samples_overlap_across_sources(samples: Path):
    records = {
        provider: [NORMALISERS[provider](p) for p in payloads if "annual report" not in str(p)]
        for provider, payloads in sample_payloads(samples).items()
    }
    ids = {provider: {r.opportunity_id for r in rs} - {None} for provider, rs in records.items()}
    extract = ids[GRANTS_GOV_EXTRACT]
    assert {"360101", "360106"} <= ids[GRANTS_GOV_SEARCH] & extract
    assert ids[GRANTS_GOV_SEARCH] - extract == {"360401"}
    assert {"360103", "360106", "360202"} <= ids[SIMPLER_GRANTS] & extract
    assert ids[SIMPLER_GRANTS] - extract == {"360501"}
    assert ids[GRANT_FEED] <= extract and "360101" in ids[GRANT_FEED]


def test_samples_match_the_sample_organizations(samples: Path):
    """Some sample grants fit each matchable sample organisation; some fit none."""
    extract = [
        NORMALISERS[GRANTS_GOV_EXTRACT](p) for p in sample_payloads(samples)[GRANTS_GOV_EXTRACT]
    ]
    text = {r.source_id: f"{r.title} {r.description}".lower() for r in extract}
    assert any("stem" in t and "after-school" in t for t in text.values())
    assert any("opioid" in t and "rural" in t for t in text.values())
    assert any("oyster reef" in t and "wetland" in t for t in text.values())
    unrelated = ("crop insurance", "naval", "arts", "small business", "tribal lands")
    assert sum(any(word in t for word in unrelated) for t in text.values()) >= 5
