"""Salesforce and HubSpot clients against a loopback server, and the CSV loader."""

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from pipeline.defs.news.providers import CrmResource
from pipeline.lib.http import ProviderError
from pipeline.lib.news.clients import load_clients_csv
from pipeline.lib.news.crm import HubSpotCRM, SalesforceCRM
from pipeline.lib.settings import REPO_ROOT
from pipeline_tests.fakes.http_server import Reply

QUERY_PATH = "/services/data/v60.0/query"


def salesforce(http_server, **overrides) -> SalesforceCRM:
    return SalesforceCRM(
        client_id="cid",
        client_secret="csecret",
        refresh_token="rtoken",
        tenant_id="acme",
        login_url=http_server.base_url,
        max_attempts=1,
        **overrides,
    )


def token_reply(http_server, token="tok-1") -> Reply:
    return Reply(
        200, {"access_token": token, "instance_url": http_server.base_url, "token_type": "Bearer"}
    )


def test_salesforce_refresh_token_flow_and_paging(http_server):
    http_server.add("POST", "/services/oauth2/token", token_reply(http_server))
    http_server.add(
        "GET",
        QUERY_PATH,
        Reply(
            200,
            {
                "totalSize": 3,
                "done": False,
                "nextRecordsUrl": "/services/data/v60.0/query/01gD0000002HU6KIAW-2000",
                "records": [
                    {
                        "Id": "001A",
                        "Name": "Northwind Robotics",
                        "Website": "https://www.northwindrobotics.com",
                        "Owner": {"Email": "Alice@Example.org"},
                        "Aliases__c": "Northwind; NWR",
                    },
                    {
                        "Id": "001B",
                        "Name": "BluePeak Energy",
                        "Website": "bluepeak.energy",
                        "Owner": {"Email": "bob@example.org"},
                        "Aliases__c": None,
                    },
                ],
            },
        ),
    )
    http_server.add(
        "GET",
        "/services/data/v60.0/query/01gD0000002HU6KIAW-2000",
        Reply(
            200,
            {
                "totalSize": 3,
                "done": True,
                "records": [{"Id": "001C", "Name": "  ", "Owner": None}],
            },
        ),
    )
    clients, problems = salesforce(http_server, aliases_field="Aliases__c").load()
    token_request = http_server.requests_to("/services/oauth2/token")[0]
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
        "refresh_token": ["rtoken"],
    }
    query = http_server.requests_to(QUERY_PATH)[0]
    assert query.headers["Authorization"] == "Bearer tok-1"
    assert query.query["q"] == [
        "SELECT Id, Name, Website, Owner.Email, Aliases__c, Industry, BillingCountry"
        " FROM Account ORDER BY Id"
    ]
    assert [(c.client_id, c.tenant_id, c.domain, c.owner_email, c.aliases) for c in clients] == [
        ("sf-001A", "acme", "northwindrobotics.com", "alice@example.org", ("Northwind", "NWR")),
        ("sf-001B", "acme", "bluepeak.energy", "bob@example.org", ()),
    ]
    assert all(c.provider == "salesforce" and not c.is_sample for c in clients)
    assert problems == ["salesforce Account sf-001C: name is empty"]


def test_salesforce_expired_token_is_refreshed_once(http_server):
    http_server.add(
        "POST",
        "/services/oauth2/token",
        token_reply(http_server, "old"),
        token_reply(http_server, "new"),
    )
    http_server.add(
        "GET",
        QUERY_PATH,
        Reply(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        Reply(
            200,
            {
                "done": True,
                "records": [{"Id": "001A", "Name": "Acme", "Owner": {"Email": "a@example.org"}}],
            },
        ),
    )
    clients, _ = salesforce(http_server).load()
    assert [c.client_id for c in clients] == ["sf-001A"]
    auth = [r.headers["Authorization"] for r in http_server.requests_to(QUERY_PATH)]
    assert auth == ["Bearer old", "Bearer new"]


def test_salesforce_bad_refresh_token(http_server):
    http_server.add(
        "POST",
        "/services/oauth2/token",
        Reply(400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}),
    )
    with pytest.raises(ProviderError, match="invalid_grant") as raised:
        salesforce(http_server).load()
    assert "rtoken" not in str(raised.value) and "csecret" not in str(raised.value)


def test_hubspot_companies_with_paging_and_owners(http_server):
    http_server.add(
        "GET",
        "/crm/v3/owners",
        Reply(
            200,
            {
                "results": [
                    {"id": "11", "email": "carol@example.org"},
                    {"id": "12", "email": "Dave@Example.org"},
                ]
            },
        ),
    )
    pages = {
        None: {
            "results": [
                {
                    "id": "501",
                    "properties": {
                        "name": "Lumen Logistics",
                        "domain": "lumenlogistics.com",
                        "hubspot_owner_id": "11",
                    },
                },
                {
                    "id": "502",
                    "properties": {
                        "name": "Quarry Analytics",
                        "website": "https://www.quarry.ai/",
                        "hubspot_owner_id": "12",
                    },
                },
            ],
            "paging": {"next": {"after": "502", "link": "..."}},
        },
        "502": {
            "results": [
                {"id": "503", "properties": {"name": "Orbit Foods", "hubspot_owner_id": "99"}}
            ]
        },
    }
    http_server.handle(
        "GET",
        "/crm/v3/objects/companies",
        lambda request: Reply(200, pages[(request.query.get("after") or [None])[0]]),
    )
    clients, problems = HubSpotCRM(
        token="hs-token", tenant_id="globex", base_url=http_server.base_url
    ).load()
    assert problems == []
    assert [(c.client_id, c.domain, c.owner_email) for c in clients] == [
        ("hs-501", "lumenlogistics.com", "carol@example.org"),
        ("hs-502", "quarry.ai", "dave@example.org"),
        ("hs-503", "", ""),
    ]
    assert all(c.tenant_id == "globex" and c.provider == "hubspot" for c in clients)
    requests = http_server.requests_to("/crm/v3/objects/companies")
    assert len(requests) == 2 and requests[1].query["after"] == ["502"]
    assert requests[0].headers["Authorization"] == "Bearer hs-token"
    assert requests[0].query["properties"] == [
        "name,domain,website,hubspot_owner_id,industry,country"
    ]


def test_hubspot_rate_limit_then_success(http_server):
    http_server.add(
        "GET",
        "/crm/v3/owners",
        Reply(429, {"status": "error", "message": "rate"}, {"Retry-After": "0"}),
        Reply(200, {"results": []}),
    )
    http_server.add("GET", "/crm/v3/objects/companies", Reply(200, {"results": []}))
    clients, _ = HubSpotCRM(token="t", tenant_id="x", base_url=http_server.base_url).load()
    assert clients == []
    assert len(http_server.requests_to("/crm/v3/owners")) == 2


def test_hubspot_bad_token(http_server):
    http_server.add(
        "GET",
        "/crm/v3/owners",
        Reply(401, {"status": "error", "message": "Authentication credentials not found."}),
    )
    with pytest.raises(ProviderError, match="HTTP 401"):
        HubSpotCRM(token="t", tenant_id="x", base_url=http_server.base_url, max_attempts=1).load()


def test_resource_prefers_salesforce_then_hubspot_then_csv(http_server):
    http_server.add("POST", "/services/oauth2/token", token_reply(http_server))
    http_server.add("GET", QUERY_PATH, Reply(200, {"done": True, "records": []}))
    http_server.add("GET", "/crm/v3/owners", Reply(200, {"results": []}))
    http_server.add("GET", "/crm/v3/objects/companies", Reply(200, {"results": []}))
    salesforce_crm = CrmResource(
        salesforce_client_id="a",
        salesforce_client_secret="b",
        salesforce_refresh_token="c",
        salesforce_login_url=http_server.base_url,
        hubspot_token="h",
        hubspot_base_url=http_server.base_url,
    )
    assert salesforce_crm.load()[2] == "salesforce"
    hubspot_crm = CrmResource(hubspot_token="h", hubspot_base_url=http_server.base_url)
    assert hubspot_crm.load()[2] == "hubspot"
    clients, problems, provider = CrmResource().load()
    assert provider == "csv" and len(clients) == 7 and problems == []
    assert all(c.is_sample for c in clients)
    assert {c.owner_email for c in clients} == {
        "alice@example.org",
        "bob@example.org",
        "carol@example.org",
    }


def test_csv_reports_bad_rows_by_line(tmp_path: Path):
    path = tmp_path / "clients.csv"
    path.write_text(
        "client_id,tenant_id,name,aliases,domain,owner_email,feeds\n"
        "ok-1,t1,Good Co,Good|GC,good.example,owner@example.org,\n"
        "bad id,t1,Bad Co,,,,\n"
        "ok-2,,No Tenant,,,,\n"
        "ok-3,t1,Mail Co,,,not-an-email,\n"
        "ok-1,t2,Duplicate,,,,\n",
        encoding="utf-8",
    )
    clients, problems = load_clients_csv(path, is_sample=False)
    assert [c.client_id for c in clients] == ["ok-1"]
    assert clients[0].aliases == ("Good", "GC")
    assert problems[0].startswith("clients.csv:3:") and "client_id" in problems[0]
    assert problems[1].startswith("clients.csv:4:") and "tenant_id" in problems[1]
    assert problems[2].startswith("clients.csv:5:") and "owner_email" in problems[2]
    assert "appears more than once" in problems[3]


def test_csv_missing_columns(tmp_path: Path):
    path = tmp_path / "clients.csv"
    path.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns client_id, tenant_id"):
        load_clients_csv(path, is_sample=False)


def test_sample_clients_file_is_where_the_docs_say():
    assert (REPO_ROOT / "data" / "samples" / "news" / "clients.csv").is_file()
