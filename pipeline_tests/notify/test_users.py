"""users.yaml: defaults filled in, the sample flag, and bad files rejected with the file, the
user and the field named."""

from __future__ import annotations

import pytest

from pipeline.lib.notify.users import load_users_file
from pipeline.lib.settings import REPO_ROOT


def write(tmp_path, text):
    (tmp_path / "users.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_bundled_file_loads_and_is_marked_sample():
    users_file = load_users_file(REPO_ROOT / "data" / "config")
    assert users_file.is_sample
    by_email = {u.email: u for u in users_file.users}
    assert {"alice@example.org", "bob@example.org", "carol@example.org"} <= set(by_email)
    assert by_email["bob@example.org"].kinds == ["instant_alert", "deadline_reminder"]
    assert by_email["ops@example.org"].role == "operator"


def test_defaults_and_missing_file(tmp_path):
    assert load_users_file(tmp_path).users == []
    users_file = load_users_file(write(tmp_path, """
defaults: {threshold: 0.3, timezone: Europe/Berlin}
users:
  - {email: Someone@Example.org, tenant: acme}
"""))  # fmt: skip
    [user] = users_file.users
    assert (user.email, user.threshold, user.timezone, user.frequency) == (
        "someone@example.org",
        0.3,
        "Europe/Berlin",
        "daily",
    )
    assert not users_file.is_sample and users_file.content_hash


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{email: a@x.org, tenant: t, threshold: 1.5}", r"user #1 \(a@x.org\).*threshold"),
        ("{email: a@x.org, tenant: t, timezone: Mars/Base}", "unknown timezone 'Mars/Base'"),
        ("{email: a@x.org, tenant: t, categories: [gossip]}", "unknown news category 'gossip'"),
        ("{email: a@x.org, tenant: t, frequency: hourly}", "frequency"),
        ("{email: a@x.org, tenant: t, digest: {hour: 24}}", r"digest\.hour"),
        ("{email: a@x.org, tenant: t, colour: blue}", "colour"),
        ("{email: not-an-address, tenant: t}", "not an e-mail address"),
        ("{email: a@x.org}", "tenant: Field required"),
        (
            "{email: a@x.org, tenant: t, watchlists: [{name: w, amount_min: 9, amount_max: 1}]}",
            "amount_min 9 is above amount_max 1",
        ),
        ("{email: a@x.org, tenant: t, watchlists: [{name: w}, {name: w}]}", "used twice: w"),
    ],
)
def test_bad_entries_name_the_user_and_field(tmp_path, entry, message):
    with pytest.raises(ValueError, match=message) as error:
        load_users_file(write(tmp_path, f"users:\n  - {entry}\n"))
    assert str(tmp_path / "users.yaml") in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: [\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("people: []\n", "unknown top-level key"),
        ("sample: maybe\nusers: []\n", "`sample` must be true or false"),
        ("users:\n  - {email: a@x.org, tenant: t}\n  - {email: A@x.org, tenant: t}\n",
         "listed twice: a@x.org"),
    ],
)  # fmt: skip
def test_bad_files(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_users_file(write(tmp_path, text))
