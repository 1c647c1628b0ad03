"""The secret that signs links in e-mails: generated once per data dir when
PIPELINE_UNSUBSCRIBE_SECRET is unset (mode 0600, the same for every process, never shown), so an
e-mail rendered by the pipeline verifies in `pipeline serve` started with no configuration."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from email import message_from_string, policy
from pathlib import Path

import httpx
from click.testing import CliRunner

from pipeline.lib.notify.secret import SECRET_FILE
from pipeline_tests.fakes.ports import reserved_port
from pipeline_tests.notify.conftest import NOW, add_news, as_of, fold, materialize, rows
from pipeline_tests.notify.web_server import serve_command

VARIABLE = "PIPELINE_UNSUBSCRIBE_SECRET"
PRINT_SECRET_DIGEST = (
    "import hashlib; from pipeline.lib.notify.secret import unsubscribe_secret;"
    " print(hashlib.sha256(unsubscribe_secret().encode()).hexdigest())"
)


def test_an_email_rendered_here_verifies_in_serve_started_elsewhere_with_no_secret_set(
    instance, world: Path, config_dir: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.delenv(VARIABLE, raising=False)
    port = reserved_port()
    monkeypatch.setenv("PIPELINE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    add_news(world, "n1", "acme-blue", "acme", "BluePeak buys a rival", 0.9)
    assert materialize(["instant_alerts", "email_log"], instance, as_of(NOW, "instant_alerts"))
    [eml] = sorted((world.parent / "outbox").glob("*.eml"))
    message = message_from_string(eml.read_text(), policy=policy.default)
    link = message["List-Unsubscribe"].split(",")[0].strip().strip("<>")

    log = tmp_path / "serve.log"
    with serve_command(port, log):
        response = httpx.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200, response.text
    fold(world)  # the service appended the unsubscribe to the event store; the pipeline folds it in
    assert rows(world, "SELECT user_id, kind FROM notify.unsubscribes") == [
        ("bob@example.org", "instant_alert")
    ]
    secret_file = world.parent / SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text().strip() not in log.read_text()
    assert str(secret_file) in log.read_text()  # says where the secret comes from


def test_processes_starting_at_once_agree_on_one_generated_secret(pipeline_env: Path):
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", PRINT_SECRET_DIGEST], stdout=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    digests = {start.communicate(timeout=120)[0].strip() for start in starts}
    assert all(start.returncode == 0 for start in starts)
    secret = (pipeline_env / SECRET_FILE).read_text().strip()
    assert len(secret.encode()) >= 32
    assert digests == {hashlib.sha256(secret.encode()).hexdigest().encode()}
    assert sorted(p.name for p in pipeline_env.iterdir()) == [SECRET_FILE]  # nothing left aside


def test_env_says_where_the_secret_and_public_url_come_from_never_the_value(
    pipeline_env: Path, monkeypatch
):
    from pipeline.cli import main

    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.delenv("PIPELINE_PUBLIC_URL", raising=False)
    before = CliRunner().invoke(main, ["env"])
    assert before.exit_code == 0, before.output
    assert f"link secret      from {pipeline_env / SECRET_FILE} (generated on first use)" in (
        before.output
    )
    assert "public URL       http://127.0.0.1:8080 (PIPELINE_PUBLIC_URL unset" in before.output

    secret = "a-deployment-secret-shared-by-hosts-0123456789"
    monkeypatch.setenv(VARIABLE, secret)
    monkeypatch.setenv("PIPELINE_PUBLIC_URL", "https://mail.example.org")
    after = CliRunner().invoke(main, ["env"])
    assert "link secret      from PIPELINE_UNSUBSCRIBE_SECRET" in after.output
    assert "public URL       https://mail.example.org (PIPELINE_PUBLIC_URL set)" in after.output
    assert secret not in after.output
