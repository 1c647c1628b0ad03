"""Notify fixtures: a loopback SMTP server and the SMTP_* variables pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline_tests.fakes.smtp_server import FakeSMTPServer


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    server = FakeSMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_env(smtp_server: FakeSMTPServer, pipeline_env, monkeypatch) -> FakeSMTPServer:
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    return smtp_server
