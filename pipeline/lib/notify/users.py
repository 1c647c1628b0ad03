"""data/config/users.yaml: users, their notification preferences and watchlists, validated."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.lib.scoring.categories import NEWS_CATEGORIES
from pipeline.lib.settings.notify import configured_operator_emails

USERS_FILE = "users.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TOP_LEVEL_KEYS = ("sample", "defaults", "users")

# The e-mail kinds a user's frequency subscribes them to. Deadline reminders go to everyone:
# a closing grant matters whatever the digest rhythm.
INSTANT_ALERT = "instant_alert"
DAILY_DIGEST = "daily_digest"
WEEKLY_DIGEST = "weekly_digest"
DEADLINE_REMINDER = "deadline_reminder"
OPERATOR_ALERT = "operator_alert"
USER_KINDS = (INSTANT_ALERT, DAILY_DIGEST, WEEKLY_DIGEST, DEADLINE_REMINDER)
FREQUENCY_KIND = {"instant": INSTANT_ALERT, "daily": DAILY_DIGEST, "weekly": WEEKLY_DIGEST}


class Digest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    hour: int = Field(8, ge=0, le=23)


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    include_keywords: list[str] = []
    exclude_keywords: list[str] = []
    agencies: list[str] = []
    eligibility: list[str] = []
    amount_min: float | None = Field(None, ge=0, allow_inf_nan=False)
    amount_max: float | None = Field(None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _amount_range(self) -> Watchlist:
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_min > self.amount_max
        ):
            raise ValueError(
                f"amount_min {self.amount_min:g} is above amount_max {self.amount_max:g}"
            )
        return self


class User(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    name: str | None = None
    tenant: str
    role: str = "account_manager"
    org_id: str | None = None
    timezone: str = "UTC"
    threshold: float = Field(0.6, ge=0.0, le=1.0)
    categories: list[str] = []
    assigned_only: bool = True
    frequency: Literal["instant", "daily", "weekly"] = "daily"
    digest: Digest = Digest()
    watchlists: list[Watchlist] = []

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if "@" not in value or any(c in value for c in " \r\n,;<>"):
            raise ValueError(f"not an e-mail address: {value!r}")
        if not value.isascii():
            # Headers and the SMTP envelope are ASCII; SMTPUTF8 addresses are not supported.
            raise ValueError(f"only ASCII e-mail addresses are supported: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r}") from error
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in NEWS_CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown news categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))}; known: {', '.join(NEWS_CATEGORIES)}"
            )
        return value

    @field_validator("watchlists")
    @classmethod
    def _watchlist_names(cls, value: list[Watchlist]) -> list[Watchlist]:
        names = [w.name for w in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"watchlist names used twice: {', '.join(twice)}")
        return value

    @property
    def user_id(self) -> str:
        return self.email

    @property
    def kinds(self) -> list[str]:
        """The e-mail kinds this user receives (before unsubscribes)."""
        kinds = [FREQUENCY_KIND[self.frequency], DEADLINE_REMINDER]
        return [*kinds, OPERATOR_ALERT] if self.role == "operator" else kinds


def watchlist_id(user_id: str, name: str) -> str:
    return "wl-" + hashlib.sha256(f"{user_id}\x1f{name}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class UsersFile:
    path: Path
    users: list[User]
    # `sample: true` at the top of the file: its users (and so their e-mails) are samples.
    is_sample: bool
    content_hash: str


def _problems(error: ValidationError) -> str:
    """'threshold: Input should be less than or equal to 1; digest.hour: ...'"""
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "entry"
        parts.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_users_file(config_dir: Path) -> UsersFile:
    """users.yaml validated: every user with `defaults` filled in. A missing file means no
    users; anything wrong raises ValueError naming the file, the user and the field."""
    path = Path(config_dir) / USERS_FILE
    if not path.exists():
        return UsersFile(path, [], False, "")
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping with `users:`, got {type(document).__name__}")
    unknown = sorted(set(document) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ValueError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
            f"expected {', '.join(TOP_LEVEL_KEYS)}"
        )
    defaults = document.get("defaults") or {}
    entries = document.get("users") or []
    if not isinstance(defaults, dict) or not isinstance(entries, list):
        raise ValueError(f"{path}: `defaults` must be a mapping and `users` a list")
    users = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: user #{index + 1} is not a mapping: {entry!r}")
        label = f"user #{index + 1}" + (f" ({entry['email']})" if entry.get("email") else "")
        try:
            users.append(User.model_validate({**defaults, **entry}))
        except ValidationError as error:
            raise ValueError(f"{path}: {label} is invalid: {_problems(error)}") from error
    emails = [u.email for u in users]
    duplicates = sorted({e for e in emails if emails.count(e) > 1})
    if duplicates:
        raise ValueError(f"{path}: users listed twice: {', '.join(duplicates)}")
    sample = document.get("sample", False)
    if not isinstance(sample, bool):
        raise ValueError(f"{path}: `sample` must be true or false, not {sample!r}")
    return UsersFile(path, users, sample, hashlib.sha256(text.encode()).hexdigest())


def load_users(config_dir: Path) -> list[User]:
    """Every user in users.yaml with `defaults` filled in; a missing file means no users."""
    return load_users_file(config_dir).users


def operator_emails(config_dir: Path, environ: dict | None = None) -> list[str]:
    """PIPELINE_OPERATOR_EMAILS (comma-separated) when set, else users with role operator."""
    if configured := configured_operator_emails(environ):
        return configured
    return sorted(u.email for u in load_users(config_dir) if u.role == "operator")
