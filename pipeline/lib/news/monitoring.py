"""data/config/monitoring.yaml: when each client's news is fetched.

    schedules:
      - name: key_accounts            # letters, digits, _ ; unique
        clients: [acme-northwind]     # client ids, or `all`
        schedule: "*/30 * * * *"      # manual | hourly | daily | weekly | monthly | 5-field cron
      - name: globex_daily
        tenant: globex                # every client of one tenant
        schedule: daily

A broken entry (bad cron, unknown client, missing field) is skipped and reported as
'monitoring.yaml:LINE: reason'; the other entries still become schedules, so one typo never
takes the code location down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from croniter import croniter

CADENCES = {
    "hourly": "0 * * * *",
    "daily": "0 6 * * *",
    "weekly": "0 6 * * 1",
    "monthly": "0 6 1 * *",
}
MANUAL = "manual"
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class MonitoringEntry:
    name: str
    line: int
    schedule: str  # the text as written
    cron: str | None  # None for manual
    clients: tuple[str, ...] = ()  # empty with all_clients or tenant
    all_clients: bool = False
    tenant: str | None = None

    @property
    def schedule_name(self) -> str:
        return f"news_{self.name}"

    def run_config_clients(self) -> dict:
        return {"clients": list(self.clients), "tenant": self.tenant or ""}


@dataclass
class MonitoringConfig:
    path: Path
    entries: list[MonitoringEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, line: int | None, message: str) -> None:
        where = f"{self.path.name}:{line}" if line else self.path.name
        self.errors.append(f"{where}: {message}")


def cron_for(schedule: str) -> tuple[str | None, str | None]:
    """(cron, error) for a schedule value; cron is None for manual."""
    text = str(schedule).strip()
    if text.lower() == MANUAL:
        return None, None
    if text.lower() in CADENCES:
        return CADENCES[text.lower()], None
    if len(text.split()) != 5:
        return None, (
            f"schedule {text!r} is not manual, hourly, daily, weekly, monthly or a 5-field cron"
        )
    if not croniter.is_valid(text):
        return None, f"schedule {text!r} is not a valid cron expression"
    return text, None


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records the line of every mapping as `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_monitoring(path: Path, known_clients: Iterable[str] | None = None) -> MonitoringConfig:
    """Parse and validate the monitoring file. `known_clients`, when given, are the client ids
    the CRM has; entries naming others lose those ids (and are skipped if none remain)."""
    config = MonitoringConfig(path)
    if not path.exists():
        return config
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        config.error(mark.line + 1 if mark else None, f"not valid YAML: {error}")
        return config
    raw_entries = document.get("schedules") if isinstance(document, dict) else None
    if not isinstance(raw_entries, list):
        config.error(None, "expected a top-level 'schedules:' list")
        return config
    known = set(known_clients) if known_clients is not None else None
    seen: set[str] = set()
    for raw in raw_entries:
        if not isinstance(raw, dict):
            config.error(None, f"entry {raw!r} is not a mapping")
            continue
        entry = _entry(raw, config, known)
        if entry is None:
            continue
        if entry.name in seen:
            config.error(entry.line, f"name {entry.name!r} is used twice; entry skipped")
            continue
        seen.add(entry.name)
        config.entries.append(entry)
    return config


def _entry(raw: dict, config: MonitoringConfig, known: set[str] | None) -> MonitoringEntry | None:
    line = raw.get("__line__")
    name = str(raw.get("name") or "").strip()
    if not _NAME.match(name):
        config.error(line, f"name {name!r} must be letters, digits or _; entry skipped")
        return None
    unknown_keys = set(raw) - {"__line__", "name", "clients", "client", "tenant", "schedule"}
    if unknown_keys:
        config.error(
            line, f"{name}: unknown key(s) {', '.join(sorted(unknown_keys))}; entry skipped"
        )
        return None
    if "schedule" not in raw:
        config.error(line, f"{name}: no 'schedule'; entry skipped")
        return None
    cron, problem = cron_for(raw["schedule"])
    if problem:
        config.error(line, f"{name}: {problem}; entry skipped")
        return None
    clients_value = raw.get("clients", raw.get("client"))
    tenant = str(raw["tenant"]).strip() if raw.get("tenant") else None
    if clients_value is None and tenant is None:
        config.error(line, f"{name}: give 'clients' (ids or all) or 'tenant'; entry skipped")
        return None
    all_clients = isinstance(clients_value, str) and clients_value.strip().lower() == "all"
    clients: tuple[str, ...] = ()
    if clients_value is not None and not all_clients:
        values = [clients_value] if isinstance(clients_value, str) else clients_value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            config.error(line, f"{name}: 'clients' must be a list of ids or 'all'; entry skipped")
            return None
        clients = tuple(v.strip() for v in values if v.strip())
        if known is not None:
            unknown = [c for c in clients if c not in known]
            if unknown:
                config.error(line, f"{name}: unknown client(s) {', '.join(unknown)} left out")
                clients = tuple(c for c in clients if c in known)
            if not clients:
                config.error(line, f"{name}: no known client left; entry skipped")
                return None
    return MonitoringEntry(
        name=name,
        line=line,
        schedule=str(raw["schedule"]),
        cron=cron,
        clients=clients,
        all_clients=all_clients,
        tenant=tenant,
    )
