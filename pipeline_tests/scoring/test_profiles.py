"""Profiles that say what matters: organisations and clients carry topics, exclusions, industry,
geography and languages from YAML, CSV, Salesforce and HubSpot; what cannot be right is refused
at load with the organisation/client and the field named."""

from pathlib import Path

import pytest
import yaml

from pipeline.lib import warehouse
from pipeline.lib.grants.organizations import OrganizationsConfigError, load_organizations
from pipeline.lib.grants.store import write_organizations
from pipeline.lib.news.clients import load_clients_csv
from pipeline.lib.news.crm import HubSpotCRM, SalesforceCRM
from pipeline.lib.news.store import write_clients
from pipeline.lib.scoring.inputs import load_grant_inputs, load_news_inputs
from pipeline.lib.scoring.models import ClientProfile, OrgProfile
from pipeline_tests.fakes.http_server import Reply
from pipeline_tests.scoring.conftest import NOW, PARTITION_DATE

ORG = {
    "org_id": "org-aids",
    "tenant": "acme",
    "name": "Positive Futures",
    "mission": "Community HIV care and support for orphans in East Africa, since 1998.",
    "keywords": ["HIV"],
    "eligibility_type": "nonprofit",
    "contact_email": "grants@positive.example.org",
}


def write_orgs(config_dir: Path, *entries: dict) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "organizations.yaml").write_text(yaml.safe_dump({"organizations": list(entries)}))
    return config_dir


def test_organization_profile_fields_are_read(tmp_path):
    entry = {
        **ORG,
        "not_interested_in": ["military programmes"],
        "industry": "global health",
        "languages": ["EN", "fr"],
        "eligibility_type": "501(c)(3)",
    }
    (org,) = load_organizations(write_orgs(tmp_path, entry)).organizations
    assert org.profile.not_a_fit == ("military programmes",)
    assert org.profile.industry == "global health"
    assert org.profile.languages == ("en", "fr")
    assert org.profile.eligibility_type == "nonprofit"  # a synonym is stored as its type


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contact_email", "nope", "organisation org-aids: contact_email: 'nope' is not an e-mail"),
        ("eligibility_type", "charity-ish", "eligibility_type: 'charity-ish' is not a known"),
        ("languages", ["English"], "languages: 'english': languages are two-letter ISO codes"),
    ],
)
def test_bad_organization_fields_are_refused_naming_the_org_and_field(
    tmp_path, field, value, message
):
    with pytest.raises(OrganizationsConfigError, match=message) as raised:
        load_organizations(write_orgs(tmp_path, {**ORG, field: value}))
    assert "organizations.yaml" in str(raised.value)


def test_profile_hash_is_unchanged_for_a_profile_without_the_new_fields():
    """Old profiles keep their hash, so an upgrade does not re-score (and re-pay for) them."""
    org = OrgProfile(org_id="o", tenant_id="t", name="N", mission="m")
    assert (
        org.profile_hash
        == OrgProfile(org_id="o", tenant_id="t", name="N", mission="m", not_a_fit=()).profile_hash
    )
    with_exclusion = OrgProfile(
        org_id="o", tenant_id="t", name="N", mission="m", not_a_fit=("military",)
    )
    assert with_exclusion.profile_hash != org.profile_hash
    client = ClientProfile(client_id="c", tenant_id="t", name="Acme")
    assert (
        client.profile_hash
        != ClientProfile(
            client_id="c", tenant_id="t", name="Acme", topics=("rule of law",)
        ).profile_hash
    )


def test_csv_clients_carry_profile_fields_and_bad_languages_are_rejected(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text(
        "client_id,tenant_id,name,keywords,topics,not_interested_in,industry,geography,languages\n"
        "c-1,acme,Lantern & Finch,AdWords|Facebook ads,,stock trading,agency,UK,en|DE\n"
        "c-2,acme,Open Range,,public lands|wildlife,,conservation,United States,English\n",
        encoding="utf-8",
    )
    clients, problems = load_clients_csv(path, is_sample=False)
    (agency,) = clients
    assert agency.keywords == ("AdWords", "Facebook ads")
    assert agency.not_interested_in == ("stock trading",)
    assert (agency.industry, agency.geography, agency.languages) == ("agency", "UK", ("en", "de"))
    assert problems == ["clients.csv:3: languages 'english' are not two-letter ISO codes (en, de)"]


def test_salesforce_and_hubspot_map_profile_fields(http_server):
    http_server.add(
        "POST",
        "/services/oauth2/token",
        Reply(200, {"access_token": "t", "instance_url": http_server.base_url}),
    )
    http_server.add(
        "GET",
        "/services/data/v60.0/query",
        Reply(
            200,
            {
                "done": True,
                "records": [
                    {
                        "Id": "001A",
                        "Name": "Lantern & Finch",
                        "Industry": "Advertising",
                        "BillingCountry": "United Kingdom",
                        "Products_Used__c": "AdWords; Slack",
                        "Not_Interested__c": "stock trading",
                    }
                ],
            },
        ),
    )
    salesforce = SalesforceCRM(
        client_id="cid",
        client_secret="s",
        refresh_token="r",
        tenant_id="acme",
        login_url=http_server.base_url,
        max_attempts=1,
        profile_fields={"keywords": "Products_Used__c", "not_interested_in": "Not_Interested__c"},
    )
    (client,), problems = salesforce.load()
    assert problems == []
    assert client.keywords == ("AdWords", "Slack")
    assert client.not_interested_in == ("stock trading",)
    assert (client.industry, client.geography) == ("Advertising", "United Kingdom")
    query = http_server.requests_to("/services/data/v60.0/query")[0].query["q"][0]
    assert "Products_Used__c" in query and "Industry" in query

    http_server.add("GET", "/crm/v3/owners", Reply(200, {"results": []}))
    http_server.add(
        "GET",
        "/crm/v3/objects/companies",
        Reply(
            200,
            {
                "results": [
                    {
                        "id": "7",
                        "properties": {
                            "name": "Open Range",
                            "industry": "NON_PROFIT",
                            "topics": "public lands;wildlife",
                            "languages": "en",
                        },
                    }
                ]
            },
        ),
    )
    hubspot = HubSpotCRM(
        token="h",
        tenant_id="acme",
        base_url=http_server.base_url,
        profile_fields={"topics": "topics", "languages": "languages"},
    )
    (ngo,), _ = hubspot.load()
    assert ngo.topics == ("public lands", "wildlife") and ngo.languages == ("en",)
    assert ngo.industry == "NON_PROFIT"


def test_unknown_profile_field_in_a_crm_mapping_is_refused():
    crm = HubSpotCRM(token="h", tenant_id="acme", profile_fields={"hobbies": "x"})
    with pytest.raises(ValueError, match="unknown profile field"):
        crm.load()


def test_profile_fields_reach_the_scorer_through_the_warehouse(tmp_path):
    clients_csv = tmp_path / "clients.csv"
    clients_csv.write_text(
        "client_id,tenant_id,name,topics,languages\nc-ngo,acme,Open Range,public lands,en\n",
        encoding="utf-8",
    )
    clients, _ = load_clients_csv(clients_csv, is_sample=False)
    (org,) = load_organizations(
        write_orgs(tmp_path / "config", {**ORG, "not_a_fit": ["military programmes"]})
    ).organizations
    with warehouse.connection(tmp_path / "wh.duckdb") as conn:
        warehouse.migrate(conn)
        write_clients(conn, clients)
        write_organizations(conn, [org], now=NOW)
        conn.execute(
            "INSERT INTO core.client_news (client_id, tenant_id, article_id, url, canonical_url,"
            " title, provider, content_hash, simhash, partition_date, is_sample) VALUES"
            " ('c-ngo', 'acme', 'a1', 'https://x.example/1', 'https://x.example/1',"
            " 'Monument shrunk', 'rss', 'h', 0, ?, false)",
            [PARTITION_DATE],
        )
        news = load_news_inputs(conn, PARTITION_DATE, PARTITION_DATE)
        grants = load_grant_inputs(conn, PARTITION_DATE, PARTITION_DATE)
    ((client, _),) = news.pairs
    assert client.topics == ("public lands",) and client.languages == ("en",)
    assert grants.orgs[0].not_a_fit == ("military programmes",)
