"""Entity resolution: many source records, one grant.

Identity, strongest key first: the same source record as before; the Grants.gov OpportunityID
(= Simpler's legacy_opportunity_id); the opportunity number; the normalised title + agency.
A weaker key only joins two records when no stronger key disagrees (two different
OpportunityIDs with the same title are two grants). A grant keeps the id it got when first
seen, even when stronger keys turn up later.

Versions: records are applied oldest first. A record replaces the fields it carries when it is
at least as authoritative (synopsis > forecast > feed item) and at least as new (its source's
own update time, else when it was fetched); otherwise it only fills fields the grant lacks. A
source that does not carry a field (search2 has no award ceiling) never blanks it. Changes of
tracked fields (close date moved, amounts changed, status) become change rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipeline.lib.grants.models import TRACKED_FIELDS, GrantRecord
from pipeline.lib.hashing import content_hash

RECORD_RANK = {"synopsis": 2, "forecast": 1, "feed_item": 0}
# Each source links to its own page for the same grant; switching links is not a new version.
FILL_ONLY_FIELDS = frozenset({"url"})
# The fields of core.grants a source record provides, in table order.
GRANT_FIELDS = (
    "opportunity_id",
    "opportunity_number",
    "title",
    "agency",
    "agency_code",
    "description",
    "eligibility",
    "category",
    "assistance_listings",
    "status",
    "record_type",
    "posted_date",
    "close_date",
    "award_floor",
    "award_ceiling",
    "estimated_funding",
    "url",
)


@dataclass(frozen=True)
class IncomingRecord:
    """A normalised source record with the provenance of the raw event it came from."""

    record: GrantRecord
    raw_event_id: str | None
    is_sample: bool
    fetched_at: dt.datetime
    partition_date: dt.date

    @property
    def version_time(self) -> dt.datetime:
        return self.record.source_updated_at or self.fetched_at


@dataclass
class GrantIndex:
    """Every stored grant's identity keys, and the full rows of the grants in play."""

    by_source: dict[tuple[str, str], str] = field(default_factory=dict)
    by_opportunity_id: dict[str, str] = field(default_factory=dict)
    by_number: dict[str, str] = field(default_factory=dict)
    by_title: dict[str, str] = field(default_factory=dict)
    opportunity_id_of: dict[str, str] = field(default_factory=dict)
    number_of: dict[str, str] = field(default_factory=dict)
    known_ids: set[str] = field(default_factory=set)
    rows: dict[str, dict] = field(default_factory=dict)
    # Reads a stored grant's full row on first use, so only the grants in play are loaded.
    load_row: Callable[[str], dict] | None = None

    def row(self, grant_id: str) -> dict:
        if grant_id not in self.rows:
            if self.load_row is None:
                raise KeyError(f"grant {grant_id} is indexed but its row is not loaded")
            self.rows[grant_id] = self.load_row(grant_id)
        return self.rows[grant_id]

    def add_keys(
        self,
        grant_id: str,
        *,
        opportunity_id: str | None,
        number_key: str | None,
        title_key: str | None,
    ) -> None:
        self.known_ids.add(grant_id)
        if opportunity_id:
            self.by_opportunity_id.setdefault(opportunity_id, grant_id)
            self.opportunity_id_of.setdefault(grant_id, opportunity_id)
        if number_key:
            self.by_number.setdefault(number_key, grant_id)
            self.number_of.setdefault(grant_id, number_key)
        if title_key:
            self.by_title.setdefault(title_key, grant_id)


@dataclass
class Resolution:
    """What to write: whole grant rows to upsert, source-record rows, change rows."""

    grants: dict[str, dict] = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    new_grants: int = 0
    updated_grants: int = 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def new_grant_id(record: GrantRecord) -> str:
    """A readable id from the strongest key the first record carries."""
    if record.opportunity_id:
        return f"gg-{_slug(record.opportunity_id)}"
    if record.number_key:
        return f"num-{_slug(record.opportunity_number or '')}"
    return "title-" + hashlib.sha256(record.title_key.encode()).hexdigest()[:16]


def _conflicts(index: GrantIndex, grant_id: str, record: GrantRecord, *, with_number: bool) -> bool:
    stored_id = index.opportunity_id_of.get(grant_id)
    if record.opportunity_id and stored_id and stored_id != record.opportunity_id:
        return True
    stored_number = index.number_of.get(grant_id)
    return bool(
        with_number and record.number_key and stored_number and stored_number != record.number_key
    )


def resolve_id(index: GrantIndex, record: GrantRecord) -> str | None:
    """The stored grant this record belongs to, or None for a grant not seen before."""
    found = index.by_source.get((record.provider, record.source_id))
    if found:
        return found
    if record.opportunity_id and record.opportunity_id in index.by_opportunity_id:
        return index.by_opportunity_id[record.opportunity_id]
    if record.number_key:
        candidate = index.by_number.get(record.number_key)
        if candidate and not _conflicts(index, candidate, record, with_number=False):
            return candidate
    candidate = index.by_title.get(record.title_key)
    if candidate and not _conflicts(index, candidate, record, with_number=True):
        return candidate
    return None


def _empty(value) -> bool:
    return value is None or value == "" or value == () or value == []


def _record_fields(record: GrantRecord) -> dict:
    values = {name: getattr(record, name) for name in GRANT_FIELDS}
    values["assistance_listings"] = sorted(record.assistance_listings)
    return values


def grant_content_hash(row: dict) -> str:
    return content_hash([row.get(name) for name in GRANT_FIELDS])


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _applies(row: dict, incoming: IncomingRecord) -> bool:
    """Does the incoming record replace what it carries, or only fill gaps?"""
    rank_in = RECORD_RANK.get(incoming.record.record_type, 0)
    rank_now = RECORD_RANK.get(row["record_type"], 0)
    if rank_in != rank_now:
        return rank_in > rank_now
    return incoming.version_time >= row["source_updated_at"]


def resolve(records: Iterable[IncomingRecord], index: GrantIndex, now: dt.datetime) -> Resolution:
    """Merge `records` into the grants of `index`; `index` is updated as records are applied."""
    result = Resolution()
    ordered = sorted(
        records,
        key=lambda r: (
            r.version_time,
            RECORD_RANK.get(r.record.record_type, 0),
            r.record.source_id,
        ),
    )
    for incoming in ordered:
        record = incoming.record
        grant_id = resolve_id(index, record)
        fields = _record_fields(record)
        if grant_id is None:
            grant_id = new_grant_id(record)
            while grant_id in index.known_ids:  # a title twin of a different grant
                grant_id += "-2"
            row = {
                "grant_id": grant_id,
                **fields,
                "title_key": record.title_key,
                "provider": record.provider,
                "providers": [record.provider],
                "source_updated_at": incoming.version_time,
                "is_sample": incoming.is_sample,
                "first_seen_at": incoming.fetched_at,
                "updated_at": now,
                "partition_date": incoming.partition_date,
            }
            row["content_hash"] = grant_content_hash(row)
            index.rows[grant_id] = row
            result.grants[grant_id] = row
            result.new_grants += 1
        else:
            _merge(index.row(grant_id), incoming, fields, now, result)
        index.by_source[(record.provider, record.source_id)] = grant_id
        index.add_keys(
            grant_id,
            opportunity_id=record.opportunity_id,
            number_key=record.number_key,
            title_key=record.title_key,
        )
        result.sources.append(
            {
                "provider": record.provider,
                "source_id": record.source_id,
                "grant_id": grant_id,
                "content_hash": record.content_hash,
                "raw_event_id": incoming.raw_event_id,
                "is_sample": incoming.is_sample,
                "first_seen_at": incoming.fetched_at,
                "last_seen_at": incoming.fetched_at,
                "partition_date": incoming.partition_date,
            }
        )
    return result


def _merge(
    row: dict, incoming: IncomingRecord, fields: dict, now: dt.datetime, result: Resolution
) -> None:
    record = incoming.record
    before = dict(row)
    applies = _applies(row, incoming)
    for name, value in fields.items():
        if _empty(value):
            continue
        if _empty(row.get(name)) or (applies and name not in FILL_ONLY_FIELDS):
            row[name] = value
    if applies:
        row["provider"] = record.provider
        row["source_updated_at"] = max(row["source_updated_at"], incoming.version_time)
    if record.provider not in row["providers"]:
        row["providers"] = sorted({*row["providers"], record.provider})
    # A grant is sample data only while every record behind it is.
    row["is_sample"] = bool(row["is_sample"] and incoming.is_sample)
    row["content_hash"] = grant_content_hash(row)
    if row["content_hash"] != before["content_hash"]:
        row["updated_at"] = now
        # The new version belongs to this partition, so its matches are scored again there.
        row["partition_date"] = incoming.partition_date
        result.updated_grants += row["grant_id"] not in result.grants
        for name in TRACKED_FIELDS:
            old, new = before.get(name), row.get(name)
            if _empty(old) or old == new:
                continue
            result.changes.append(
                {
                    "grant_id": row["grant_id"],
                    "field": name,
                    "old_value": _text(old),
                    "new_value": _text(new),
                    "to_hash": row["content_hash"],
                    "provider": record.provider,
                    "is_sample": incoming.is_sample,
                    "partition_date": incoming.partition_date,
                    "changed_at": now,
                }
            )
    if row != before:
        result.grants[row["grant_id"]] = row
