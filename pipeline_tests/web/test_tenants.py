"""Tenants kept apart: analysts of the two sample tenants upload files, then each tries to reach
the other's files, users and datasources by guessing ids in URLs and form fields. No answer a
signed-in analyst gets names the other tenant's files or users."""

from __future__ import annotations

import shutil

import httpx

from pipeline_tests.sales.test_sensor import settle
from pipeline_tests.web.conftest import sign_in
from pipeline_tests.web.test_uploads import MARKET_CSV, run_sensor_and_files, upload

GUESSES = [
    "/uploads?tenant={other}",
    "/uploads?datasource={other}.market",
    "/uploads?user={other_user}",
    "/upload?tenant={other}",
    "/uploads/../uploads?tenant={other}",
]


def test_an_analyst_sees_nothing_of_the_other_tenant(instance, site, pipeline_env):
    acme_file, globex_file = pipeline_env / "acme_secret.csv", pipeline_env / "globex_secret.csv"
    shutil.copy(MARKET_CSV, acme_file)
    globex_file.write_bytes(MARKET_CSV.read_bytes().replace(b"Yangon", b"Rangoon"))
    anna = httpx.Client(base_url=site, timeout=120)
    gary = httpx.Client(base_url=site, timeout=120)
    with anna, gary:
        sign_in(anna, pipeline_env, "anna@example.org")
        sign_in(gary, pipeline_env, "gary@example.org")
        assert upload(anna, "market", acme_file).status_code == 303
        # Guessing the other tenant's datasource, or naming a tenant in the form, still lands
        # under one's own tenant.
        with globex_file.open("rb") as handle:
            sent = gary.post(
                "/upload",
                data={"datasource": "acme.market", "tenant": "acme"},
                files={"file": (globex_file.name, handle)},
            )
        assert sent.status_code == 303
        landing = pipeline_env / "landing" / "sales"
        assert sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*.csv")) == [
            "acme.market/acme_secret.csv",
            "globex.acme.market/globex_secret.csv",
        ]
        for path in landing.rglob("*.csv"):
            settle(path)
        run_sensor_and_files(instance)

        answers = {"anna": [], "gary": []}
        for name, client, other, other_user in (
            ("anna", anna, "globex", "gary@example.org"),
            ("gary", gary, "acme", "anna@example.org"),
        ):
            for path in ["/upload", "/uploads", *GUESSES]:
                response = client.get(path.format(other=other, other_user=other_user))
                answers[name].append(response.text)
    anna_sees, gary_sees = " ".join(answers["anna"]), " ".join(answers["gary"])
    assert "acme_secret.csv" in anna_sees and "globex_secret.csv" in gary_sees
    assert "globex_secret.csv" not in anna_sees and "gary@example.org" not in anna_sees
    assert "acme_secret.csv" not in gary_sees and "anna@example.org" not in gary_sees
