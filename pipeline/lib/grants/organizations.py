"""Organisation profiles from data/config/organizations.yaml: validated, scored for
completeness, and told apart into the ones worth matching and the ones that lack too much."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from pipeline.lib.hashing import content_hash
from pipeline.lib.scoring.local import APPLICANT_TYPES, normalise_applicant_type
from pipeline.lib.scoring.models import OrgProfile

ORGANIZATIONS_FILE = "organizations.yaml"
DEFAULT_MIN_COMPLETENESS = 0.6
# A mission shorter than this says too little for matching to go on.
MIN_MISSION_CHARS = 40

# How much each part of a profile contributes to its completeness (sums to 1).
COMPLETENESS_WEIGHTS = {
    "mission": 0.25,
    "focus_areas": 0.2,
    "keywords": 0.2,
    "eligibility_type": 0.15,
    "geography": 0.1,
    "budget": 0.1,
}


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def language_codes(values: list[str]) -> list[str]:
    """ISO 639-1 codes, lower case; anything else is refused ('English' is not a code)."""
    codes = [v.strip().lower() for v in values if v and v.strip()]
    bad = [v for v in codes if not _LANGUAGE.match(v)]
    if bad:
        raise ValueError(
            f"{', '.join(map(repr, bad))}: languages are two-letter ISO codes (en, de)"
        )
    return codes


def describe_validation_error(error: ValidationError) -> str:
    """'field: problem; field: problem' - short enough for one line of a log or an e-mail."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "entry"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)


class OrganizationEntry(BaseModel):
    """One profile as written in the file."""

    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(min_length=1)
    tenant: str = "default"
    name: str = Field(min_length=1)
    mission: str = ""
    focus_areas: list[str] = []
    keywords: list[str] = []
    eligibility_type: str | None = None
    geography: str | None = None
    budget: Budget = Budget()
    contact_email: str | None = None
    not_a_fit: list[str] = Field(
        [], validation_alias=AliasChoices("not_a_fit", "not_interested_in")
    )
    industry: str | None = None
    languages: list[str] = []

    @field_validator("focus_areas", "keywords", "not_a_fit")
    @classmethod
    def _no_blank_terms(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v and v.strip()]

    @field_validator("eligibility_type")
    @classmethod
    def _known_applicant_type(cls, value: str | None) -> str | None:
        # An unknown type would match nothing and silently count as "likely ineligible":
        # refuse it at load.
        if value is None or not value.strip():
            return None
        kind = normalise_applicant_type(value)
        if kind not in APPLICANT_TYPES:
            known = ", ".join(APPLICANT_TYPES)
            raise ValueError(f"{value!r} is not a known applicant type (one of: {known})")
        return kind

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not EMAIL.match(value.strip()):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.strip()

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, values: list[str]) -> list[str]:
        return language_codes(values)


@dataclass(frozen=True)
class Organization:
    profile: OrgProfile
    contact_email: str | None
    completeness: float
    missing: tuple[str, ...]
    is_matchable: bool
    is_sample: bool


@dataclass(frozen=True)
class OrganizationsFile:
    organizations: list[Organization]
    min_completeness: float
    is_sample: bool


class OrganizationsConfigError(ValueError):
    """organizations.yaml cannot be used; the message names the file and the entry."""


def completeness(entry: OrganizationEntry) -> tuple[float, tuple[str, ...]]:
    """(score 0..1, what is missing), from COMPLETENESS_WEIGHTS."""
    present = {
        "mission": len(entry.mission.strip()) >= MIN_MISSION_CHARS,
        "focus_areas": bool(entry.focus_areas),
        "keywords": bool(entry.keywords),
        "eligibility_type": bool(entry.eligibility_type),
        "geography": bool(entry.geography and entry.geography.strip()),
        "budget": entry.budget.min is not None or entry.budget.max is not None,
    }
    score = sum(COMPLETENESS_WEIGHTS[part] for part, ok in present.items() if ok)
    missing = tuple(
        f"mission (at least {MIN_MISSION_CHARS} characters)" if part == "mission" else part
        for part, ok in present.items()
        if not ok
    )
    return round(score, 4), missing


def raw_entries(document) -> list[dict]:
    """The profile entries of a parsed file: `organizations: [...]`, a bare list, or a
    mapping of org_id -> profile."""
    if isinstance(document, dict) and "organizations" in document:
        document = document["organizations"]
    if isinstance(document, list):
        return [e for e in document if isinstance(e, dict)]
    if isinstance(document, dict):
        return [
            {"org_id": key, **value} for key, value in document.items() if isinstance(value, dict)
        ]
    return []


def read_document(path: Path) -> dict | list | None:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise OrganizationsConfigError(f"{path}: not valid YAML: {error}") from error


def profile_hashes(path: Path) -> dict[str, str]:
    """org_id → hash of its whole entry, as written (what the profile-change sensor compares
    against its cursor). A missing file means no organisations."""
    if not path.exists():
        return {}
    hashes = {}
    for entry in raw_entries(read_document(path)):
        org_id = entry.get("org_id") or entry.get("id")
        if org_id:
            hashes[str(org_id)] = content_hash(entry)
    return hashes


def changed_profiles(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Organisations added, edited or removed since `previous` (removed ones too: re-matching
    them deletes their stale matches)."""
    return sorted(k for k in previous.keys() | current.keys() if previous.get(k) != current.get(k))


def load_organizations(config_dir: Path) -> OrganizationsFile:
    """Every profile in organizations.yaml, validated; a missing file means none."""
    path = Path(config_dir) / ORGANIZATIONS_FILE
    if not path.exists():
        return OrganizationsFile([], DEFAULT_MIN_COMPLETENESS, is_sample=False)
    document = read_document(path) or {}
    settings = document.get("matching", {}) if isinstance(document, dict) else {}
    threshold = float((settings or {}).get("min_completeness", DEFAULT_MIN_COMPLETENESS))
    if not 0 <= threshold <= 1:
        raise OrganizationsConfigError(
            f"{path}: matching.min_completeness must be between 0 and 1, not {threshold}"
        )
    is_sample = bool(document.get("sample", False)) if isinstance(document, dict) else False
    organizations, seen = [], set()
    for index, raw in enumerate(raw_entries(document)):
        try:
            entry = OrganizationEntry.model_validate(raw)
        except ValidationError as error:
            label = raw.get("org_id") or f"#{index + 1}"
            raise OrganizationsConfigError(
                f"{path}: organisation {label}: {describe_validation_error(error)}"
            ) from error
        if entry.org_id in seen:
            raise OrganizationsConfigError(f"{path}: organisation {entry.org_id} is listed twice")
        seen.add(entry.org_id)
        if (
            entry.budget.min is not None
            and entry.budget.max is not None
            and entry.budget.min > entry.budget.max
        ):
            raise OrganizationsConfigError(
                f"{path}: organisation {entry.org_id}: budget min {entry.budget.min:,.0f}"
                f" is above max {entry.budget.max:,.0f}"
            )
        score, missing = completeness(entry)
        profile = OrgProfile(
            org_id=entry.org_id,
            tenant_id=entry.tenant,
            name=entry.name,
            mission=" ".join(entry.mission.split()),
            focus_areas=tuple(entry.focus_areas),
            keywords=tuple(entry.keywords),
            eligibility_type=entry.eligibility_type,
            geography=entry.geography,
            budget_min=entry.budget.min,
            budget_max=entry.budget.max,
            not_a_fit=tuple(entry.not_a_fit),
            industry=entry.industry,
            languages=tuple(entry.languages),
        )
        organizations.append(
            Organization(
                profile=profile,
                contact_email=entry.contact_email,
                completeness=score,
                missing=missing,
                is_matchable=score >= threshold,
                is_sample=is_sample,
            )
        )
    return OrganizationsFile(organizations, threshold, is_sample)
