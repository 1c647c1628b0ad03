"""data/config/users.yaml: users, their notification preferences and watchlists, validated."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

USERS_FILE = "users.yaml"
OPERATOR_EMAILS_VARIABLE = "PIPELINE_OPERATOR_EMAILS"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    amount_min: float | None = None
    amount_max: float | None = None


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
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r}") from error
        return value

    @property
    def user_id(self) -> str:
        return self.email


def watchlist_id(user_id: str, name: str) -> str:
    return "wl-" + hashlib.sha256(f"{user_id}\x1f{name}".encode()).hexdigest()[:16]


def load_users(config_dir: Path) -> list[User]:
    """Every user in users.yaml with `defaults` filled in; a missing file means no users."""
    path = Path(config_dir) / USERS_FILE
    if not path.exists():
        return []
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = document.get("defaults") or {}
    users = []
    for index, entry in enumerate(document.get("users") or []):
        try:
            users.append(User.model_validate({**defaults, **entry}))
        except ValueError as error:
            raise ValueError(f"{path}: user #{index + 1} is invalid: {error}") from error
    emails = [u.email for u in users]
    duplicates = sorted({e for e in emails if emails.count(e) > 1})
    if duplicates:
        raise ValueError(f"{path}: users listed twice: {', '.join(duplicates)}")
    return users


def operator_emails(config_dir: Path, environ: dict | None = None) -> list[str]:
    """PIPELINE_OPERATOR_EMAILS (comma-separated) when set, else users with role operator."""
    env = os.environ if environ is None else environ
    configured = env.get(OPERATOR_EMAILS_VARIABLE, "")
    if configured.strip():
        return sorted({e.strip().lower() for e in configured.split(",") if e.strip()})
    return sorted(u.email for u in load_users(config_dir) if u.role == "operator")
