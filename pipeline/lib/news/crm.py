"""CRM clients from Salesforce (REST, OAuth refresh-token flow, SOQL over Accounts with their
owner) and HubSpot (CRM v3 companies with paging, owners for e-mails). One CRM connection
serves one tenant: every client it yields carries that tenant id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline.lib.http import ProviderError, ProviderHTTP
from pipeline.lib.news.clients import (
    PROFILE_FIELDS,
    CrmClient,
    dedupe_clients,
    normalise_domain,
    profile_values,
    validate_client,
)
from pipeline.lib.settings.providers import HUBSPOT_BASE_URL, SALESFORCE_LOGIN_URL

SALESFORCE_API_VERSION = "v60.0"
MAX_PAGES = 500  # a safety stop for a paging loop that never ends


def _aliases(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = value.replace(";", "|").replace(",", "|").split("|")
    return tuple(p.strip() for p in parts if p.strip())


# Which CRM field fills which profile field. Industry and country are standard fields of both
# CRMs; keywords, topics, exclusions and languages are custom fields a tenant names in
# `profile_fields` (e.g. {"keywords": "Keywords__c"}), merged over these defaults.
SALESFORCE_PROFILE_FIELDS = {"industry": "Industry", "geography": "BillingCountry"}
HUBSPOT_PROFILE_FIELDS = {"industry": "industry", "geography": "country"}


def field_mapping(defaults: dict[str, str], overrides: dict[str, str], crm: str) -> dict[str, str]:
    unknown = sorted(set(overrides) - set(PROFILE_FIELDS))
    if unknown:
        raise ValueError(
            f"{crm} profile_fields: unknown profile field(s) {', '.join(unknown)}"
            f" (known: {', '.join(PROFILE_FIELDS)})"
        )
    return {**defaults, **{k: v for k, v in overrides.items() if v}}


def _collect(raw: Iterator[CrmClient], where: str) -> tuple[list[CrmClient], list[str]]:
    problems: list[str] = []
    clients = []
    for client in raw:
        errors = validate_client(client)
        if errors:
            problems.append(f"{where} {client.client_id}: {'; '.join(errors)}")
            continue
        clients.append(client)
    return dedupe_clients(clients, problems, where), problems


@dataclass
class SalesforceCRM:
    client_id: str
    client_secret: str
    refresh_token: str
    tenant_id: str
    login_url: str = SALESFORCE_LOGIN_URL
    instance_url: str | None = None
    aliases_field: str | None = None  # a custom Account field with alternative names
    where: str | None = None  # an optional SOQL filter, e.g. "Type = 'Customer'"
    timeout_s: float = 30.0
    max_attempts: int = 3
    profile_fields: dict[str, str] = field(default_factory=dict)  # profile field -> Account field

    @property
    def mapping(self) -> dict[str, str]:
        return field_mapping(SALESFORCE_PROFILE_FIELDS, self.profile_fields, "salesforce")

    def _token(self) -> tuple[str, str]:
        """(access token, instance URL) from the refresh-token grant."""
        with ProviderHTTP(
            "salesforce", self.login_url, timeout_s=self.timeout_s, max_attempts=self.max_attempts
        ) as http:
            body = http.json(
                "POST",
                "/services/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": self.refresh_token,
                },
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise ProviderError("salesforce", "token response has no access_token")
        instance = self.instance_url or body.get("instance_url")
        if not instance:
            raise ProviderError("salesforce", "no instance_url in the token response or settings")
        return token, instance

    def soql(self) -> str:
        fields = ["Id", "Name", "Website", "Owner.Email"]
        if self.aliases_field:
            fields.append(self.aliases_field)
        fields.extend(f for f in self.mapping.values() if f not in fields)
        query = f"SELECT {', '.join(fields)} FROM Account"
        if self.where:
            query += f" WHERE {self.where}"
        return query + " ORDER BY Id"

    def _records(self) -> Iterator[dict]:
        token, instance = self._token()
        refreshed = False
        path = f"/services/data/{SALESFORCE_API_VERSION}/query"
        params: dict | None = {"q": self.soql()}
        for _ in range(MAX_PAGES):
            with ProviderHTTP(
                "salesforce",
                instance,
                headers={"Authorization": f"Bearer {token}"},
                timeout_s=self.timeout_s,
                max_attempts=self.max_attempts,
            ) as http:
                try:
                    body = http.json("GET", path, params=params)
                except ProviderError as error:
                    # An access token can expire mid-sync: refresh once, then give up.
                    if error.status == 401 and not refreshed:
                        token, instance = self._token()
                        refreshed = True
                        continue
                    raise
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise ProviderError("salesforce", "query response has no records list")
            yield from body["records"]
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return
            path, params = urlsplit(next_url).path, None
        raise ProviderError("salesforce", f"stopped after {MAX_PAGES} pages of Accounts")

    def load(self) -> tuple[list[CrmClient], list[str]]:
        mapping = self.mapping

        def clients() -> Iterator[CrmClient]:
            for record in self._records():
                owner = record.get("Owner") or {}
                yield CrmClient(
                    client_id=f"sf-{record.get('Id', '')}",
                    tenant_id=self.tenant_id,
                    name=(record.get("Name") or "").strip(),
                    aliases=_aliases(
                        record.get(self.aliases_field) if self.aliases_field else None
                    ),
                    domain=normalise_domain(record.get("Website")),
                    owner_email=(owner.get("Email") or "").strip().lower(),
                    provider="salesforce",
                    is_sample=False,
                    **profile_values(record, mapping),
                )

        return _collect(clients(), "salesforce Account")


@dataclass
class HubSpotCRM:
    token: str
    tenant_id: str
    base_url: str = HUBSPOT_BASE_URL
    aliases_property: str | None = None
    page_size: int = 100
    timeout_s: float = 30.0
    max_attempts: int = 3
    profile_fields: dict[str, str] = field(default_factory=dict)  # profile field -> property

    @property
    def mapping(self) -> dict[str, str]:
        return field_mapping(HUBSPOT_PROFILE_FIELDS, self.profile_fields, "hubspot")

    def _http(self) -> ProviderHTTP:
        return ProviderHTTP(
            "hubspot",
            self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
        )

    def _paged(self, http: ProviderHTTP, path: str, params: dict) -> Iterator[dict]:
        after = None
        for _ in range(MAX_PAGES):
            body = http.json("GET", path, params={**params, **({"after": after} if after else {})})
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise ProviderError("hubspot", f"{path} response has no results list")
            yield from body["results"]
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
        raise ProviderError("hubspot", f"stopped after {MAX_PAGES} pages of {path}")

    def load(self) -> tuple[list[CrmClient], list[str]]:
        mapping = self.mapping
        properties = ["name", "domain", "website", "hubspot_owner_id"]
        if self.aliases_property:
            properties.append(self.aliases_property)
        properties.extend(p for p in mapping.values() if p not in properties)
        with self._http() as http:
            owners = {
                str(owner.get("id")): (owner.get("email") or "").strip().lower()
                for owner in self._paged(http, "/crm/v3/owners", {"limit": self.page_size})
            }
            companies = list(
                self._paged(
                    http,
                    "/crm/v3/objects/companies",
                    {
                        "limit": self.page_size,
                        "properties": ",".join(properties),
                        "archived": "false",
                    },
                )
            )

        def clients() -> Iterator[CrmClient]:
            for company in companies:
                props = company.get("properties") or {}
                yield CrmClient(
                    client_id=f"hs-{company.get('id', '')}",
                    tenant_id=self.tenant_id,
                    name=(props.get("name") or "").strip(),
                    aliases=_aliases(
                        props.get(self.aliases_property) if self.aliases_property else None
                    ),
                    domain=normalise_domain(props.get("domain") or props.get("website")),
                    owner_email=owners.get(str(props.get("hubspot_owner_id")), ""),
                    provider="hubspot",
                    is_sample=False,
                    **profile_values(props, mapping),
                )

        return _collect(clients(), "hubspot company")
