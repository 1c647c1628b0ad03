"""The team pages' world: users of two tenants (an analyst each, an account manager, an
operator), `pipeline serve` under a real uvicorn, and the sign-in link read from the outbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_string, policy
from pathlib import Path

import httpx
import pytest

from pipeline.lib.settings import recipient_events_location
from pipeline.web.app import WebSettings
from pipeline_tests.notify.web_server import running_app

SECRET = "team-test-secret-0123456789abcdefghij"
USERS_YAML = """
users:
  - {email: anna@example.org, tenant: acme, role: analyst}
  - {email: gary@example.org, tenant: globex, role: analyst}
  - {email: alice@example.org, tenant: acme, role: account_manager}
  - {email: ops@example.org, tenant: ops, role: operator}
"""


@pytest.fixture
def team_config(pipeline_env: Path, monkeypatch) -> Path:
    directory = pipeline_env / "config"
    directory.mkdir()
    (directory / "users.yaml").write_text(USERS_YAML, encoding="utf-8")
    monkeypatch.setenv("PIPELINE_CONFIG_DIR", str(directory))
    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", SECRET)
    return directory


@pytest.fixture
def site(team_config: Path, monkeypatch) -> Iterator[str]:
    config = WebSettings(events=recipient_events_location(), config_dir=team_config, secret=SECRET)
    with running_app(config) as base_url:
        monkeypatch.setenv("PIPELINE_PUBLIC_URL", base_url)
        yield base_url


def outbox_messages(pipeline_env: Path) -> list:
    return [
        message_from_string(path.read_text(), policy=policy.default)
        for path in sorted((pipeline_env / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    ]


def signin_links(pipeline_env: Path, address: str, public_url: str = "http") -> list[str]:
    links = []
    for message in outbox_messages(pipeline_env):
        if message["To"] == address:
            text = message.get_body(("plain",)).get_content()
            found = re.findall(r"https?://\S+/login/link\?t=[\w.%=-]+", text)
            links += [link for link in found if link.startswith(public_url)]
    return links


def sign_in(client: httpx.Client, pipeline_env: Path, address: str) -> None:
    """Ask for a link, follow it and press the button: the client then holds the session."""
    assert client.post("/login", data={"email": address}).status_code == 200
    link = httpx.URL(signin_links(pipeline_env, address)[-1])
    token = link.params["t"]
    # The link names the configured public URL; this server listens on a test port.
    assert client.get(link.path, params=link.params).status_code == 200
    answer = client.post("/login/link", data={"t": token})
    assert answer.status_code == 303, answer.text
