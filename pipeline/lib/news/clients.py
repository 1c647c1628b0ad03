"""CRM clients: the companies whose news we follow, whatever CRM they come from."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.lib.news.urls import domain_of

# The profile fields every CRM loader can fill (all optional), and whether each is a list
# (| separated in a CSV).
PROFILE_FIELDS = {
    "keywords": True,
    "topics": True,
    "not_interested_in": True,
    "industry": False,
    "geography": False,
    "languages": True,
}
REQUIRED_CSV_COLUMNS = ("client_id", "tenant_id", "name")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


@dataclass(frozen=True)
class CrmClient:
    client_id: str
    tenant_id: str
    name: str
    aliases: tuple[str, ...] = ()
    domain: str = ""
    owner_email: str = ""
    provider: str = "csv"
    is_sample: bool = False
    feeds: tuple[str, ...] = field(default=())
    keywords: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    not_interested_in: tuple[str, ...] = ()
    industry: str = ""
    geography: str = ""
    languages: tuple[str, ...] = ()

    @property
    def search_terms(self) -> list[str]:
        """Name first, then aliases, without repeats (case-insensitive)."""
        seen: dict[str, str] = {}
        for term in (self.name, *self.aliases):
            if term.strip():
                seen.setdefault(term.strip().casefold(), term.strip())
        return list(seen.values())

    def mentioned_in(self, *texts: str | None) -> bool:
        """Whether any of the texts names this client (whole words) or links its domain."""
        haystack = " ".join(t for t in texts if t)
        for term in self.search_terms:
            if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", haystack, re.I):
                return True
        return bool(self.domain) and self.domain.lower() in haystack.lower()


CLIENT_SCHEMA = {
    "client_id": pl.String,
    "tenant_id": pl.String,
    "name": pl.String,
    "aliases": pl.List(pl.String),
    "domain": pl.String,
    "owner_email": pl.String,
    "provider": pl.String,
    "is_sample": pl.Boolean,
    "feeds": pl.List(pl.String),
    "keywords": pl.List(pl.String),
    "topics": pl.List(pl.String),
    "not_interested_in": pl.List(pl.String),
    "industry": pl.String,
    "geography": pl.String,
    "languages": pl.List(pl.String),
}


def clients_frame(clients: list[CrmClient]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "client_id": c.client_id,
                "tenant_id": c.tenant_id,
                "name": c.name,
                "aliases": list(c.aliases),
                "domain": c.domain,
                "owner_email": c.owner_email,
                "provider": c.provider,
                "is_sample": c.is_sample,
                "feeds": list(c.feeds),
                "keywords": list(c.keywords),
                "topics": list(c.topics),
                "not_interested_in": list(c.not_interested_in),
                "industry": c.industry or None,
                "geography": c.geography or None,
                "languages": list(c.languages),
            }
            for c in clients
        ],
        schema=CLIENT_SCHEMA,
    )


def clients_from_frame(frame: pl.DataFrame) -> list[CrmClient]:
    return [
        CrmClient(
            client_id=row["client_id"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            aliases=tuple(row["aliases"] or ()),
            domain=row["domain"] or "",
            owner_email=row["owner_email"] or "",
            provider=row["provider"],
            is_sample=bool(row["is_sample"]),
            feeds=tuple(row.get("feeds") or ()),
            keywords=tuple(row.get("keywords") or ()),
            topics=tuple(row.get("topics") or ()),
            not_interested_in=tuple(row.get("not_interested_in") or ()),
            industry=row.get("industry") or "",
            geography=row.get("geography") or "",
            languages=tuple(row.get("languages") or ()),
        )
        for row in frame.iter_rows(named=True)
    ]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split("|") if part.strip())


def normalise_domain(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    return domain_of(text if "://" in text else f"https://{text}")


def validate_client(client: CrmClient) -> list[str]:
    problems = []
    if not _ID.match(client.client_id):
        problems.append(f"client_id {client.client_id!r} is empty or has spaces/odd characters")
    if not client.tenant_id.strip():
        problems.append("tenant_id is empty")
    if not client.name.strip():
        problems.append("name is empty")
    if client.owner_email and not _EMAIL.match(client.owner_email):
        problems.append(f"owner_email {client.owner_email!r} is not an e-mail address")
    bad_languages = [code for code in client.languages if not _LANGUAGE.match(code)]
    if bad_languages:
        problems.append(
            f"languages {', '.join(map(repr, bad_languages))} are not two-letter ISO codes (en, de)"
        )
    return problems


def profile_values(record: dict, mapping: dict[str, str] | None = None) -> dict:
    """The optional profile fields of a CRM record (a CSV row, an Account, a company's
    properties); `mapping` names the record's field for each profile field (default: the same
    name). Lists may be separated by | ; or , and languages are lower-cased."""
    values: dict = {}
    for name, is_list in PROFILE_FIELDS.items():
        key = mapping.get(name) if mapping is not None else name
        raw = record.get(key) if key else None
        if is_list:
            parts = raw if isinstance(raw, list) else re.split(r"[|;,]", raw or "")
            items = tuple(str(p).strip() for p in parts if str(p).strip())
            values[name] = tuple(i.lower() for i in items) if name == "languages" else items
        else:
            values[name] = str(raw or "").strip()
    return values


def dedupe_clients(clients: list[CrmClient], problems: list[str], where: str) -> list[CrmClient]:
    """Keep the first client per id; a later repeat is a problem, not a silent overwrite."""
    kept: dict[str, CrmClient] = {}
    for client in clients:
        if client.client_id in kept:
            problems.append(f"{where}: client_id {client.client_id!r} appears more than once")
            continue
        kept[client.client_id] = client
    return list(kept.values())


def load_clients_csv(path: Path, *, is_sample: bool) -> tuple[list[CrmClient], list[str]]:
    """Clients from a CSV with columns client_id, tenant_id, name, aliases (| separated),
    domain, owner_email, feeds (| separated URLs or sample feed file names), and optionally
    keywords, topics, not_interested_in, languages (| separated), industry, geography. Bad rows
    are skipped and reported as 'file:line: reason'."""
    problems: list[str] = []
    clients: list[CrmClient] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            client = CrmClient(
                client_id=(row.get("client_id") or "").strip(),
                tenant_id=(row.get("tenant_id") or "").strip(),
                name=(row.get("name") or "").strip(),
                aliases=_split(row.get("aliases")),
                domain=normalise_domain(row.get("domain")),
                owner_email=(row.get("owner_email") or "").strip().lower(),
                provider="csv",
                is_sample=is_sample,
                feeds=_split(row.get("feeds")),
                **profile_values(row),
            )
            errors = validate_client(client)
            if errors:
                problems.append(f"{path.name}:{line}: {'; '.join(errors)}")
                continue
            clients.append(client)
    return dedupe_clients(clients, problems, path.name), problems
