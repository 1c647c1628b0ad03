"""A grant as every source describes it, once normalised: what the parsers return and what
entity resolution merges into core.grants."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass, field

from pipeline.lib.hashing import content_hash

# Provider names, recorded on every raw event and grant row.
GRANTS_GOV_EXTRACT = "grants_gov_extract"
GRANTS_GOV_SEARCH = "grants_gov_search"
SIMPLER_GRANTS = "simpler_grants"
GRANT_FEED = "grant_feed"
PROVIDERS = (GRANTS_GOV_EXTRACT, GRANTS_GOV_SEARCH, SIMPLER_GRANTS, GRANT_FEED)

# Fields whose change between two versions of a grant is worth telling people about.
TRACKED_FIELDS = (
    "close_date",
    "award_ceiling",
    "award_floor",
    "estimated_funding",
    "status",
    "title",
)


class GrantParseError(ValueError):
    """A source payload that cannot be read as a grant; the message says what and where."""


class NotAGrantError(GrantParseError):
    """A readable payload that is not a funding opportunity (a funder's feed also posts news)."""


def normalise_key(text: str | None) -> str:
    """Lower-case words only: 'FY-2026  Youth STEM, Grants' -> 'fy 2026 youth stem grants'."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(re.findall(r"[^\W_]+", folded))


@dataclass(frozen=True)
class GrantRecord:
    """One source's view of one grant."""

    provider: str
    source_id: str  # the provider's id for this record (stable across fetches)
    title: str
    record_type: str = "synopsis"  # synopsis | forecast | feed_item
    opportunity_id: str | None = None  # Grants.gov OpportunityID / Simpler legacy id
    opportunity_number: str | None = None
    agency: str | None = None
    agency_code: str | None = None
    description: str | None = None
    eligibility: str | None = None
    category: str | None = None
    assistance_listings: tuple[str, ...] = ()
    status: str | None = None  # forecasted | posted | closed | archived
    posted_date: dt.date | None = None
    close_date: dt.date | None = None
    award_floor: float | None = None
    award_ceiling: float | None = None
    estimated_funding: float | None = None
    url: str | None = None
    source_updated_at: dt.datetime | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.title or not self.title.strip():
            raise GrantParseError(f"{self.provider} record {self.source_id!r} has no title")

    @property
    def title_key(self) -> str:
        return f"{normalise_key(self.title)}|{normalise_key(self.agency or self.agency_code)}"

    @property
    def number_key(self) -> str | None:
        return normalise_key(self.opportunity_number) or None

    def content_fields(self) -> dict:
        """What makes a version: everything but provenance and the source's own timestamps."""
        fields = asdict(self)
        for name in ("provider", "source_id", "source_updated_at", "extra"):
            fields.pop(name)
        fields["assistance_listings"] = sorted(self.assistance_listings)
        return fields

    @property
    def content_hash(self) -> str:
        return content_hash(self.content_fields())
