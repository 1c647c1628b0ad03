"""One normaliser per grants provider: the grants asset turns every stored raw payload into a
GrantRecord with `NORMALISERS[provider](payload)`, so re-parsing never needs the network."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.lib.grants.extract_records import normalise_extract_record
from pipeline.lib.grants.feeds import normalise_feed_item
from pipeline.lib.grants.models import (
    GRANT_FEED,
    GRANTS_GOV_EXTRACT,
    GRANTS_GOV_SEARCH,
    SIMPLER_GRANTS,
    GrantRecord,
)
from pipeline.lib.grants.search2 import normalise_search2_hit
from pipeline.lib.grants.simpler import normalise_simpler_opportunity

__all__ = ["NORMALISERS"]

NORMALISERS: dict[str, Callable[[dict], GrantRecord]] = {
    GRANTS_GOV_EXTRACT: normalise_extract_record,
    GRANTS_GOV_SEARCH: normalise_search2_hit,
    SIMPLER_GRANTS: normalise_simpler_opportunity,
    GRANT_FEED: normalise_feed_item,
}
