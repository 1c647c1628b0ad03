import httpx
import pytest

from pipeline.lib.http import ProviderError, ProviderHTTP, redact
from pipeline_tests.fakes.http_server import Reply


def client(server, **kwargs):
    kwargs.setdefault("sleep", lambda s: None)
    return ProviderHTTP("test_provider", server.base_url, **kwargs)


def test_429_with_retry_after_then_success(http_server):
    http_server.add(
        "GET",
        "/x",
        Reply(429, {"error": "slow down"}, {"Retry-After": "7"}),
        Reply(200, {"ok": True}),
    )
    waits = []
    with client(http_server, sleep=waits.append) as http:
        assert http.json("GET", "/x") == {"ok": True}
    assert waits == [7.0]
    assert len(http_server.requests_to("/x")) == 2


def test_persistent_5xx_gives_up_with_status_and_snippet(http_server):
    http_server.add("GET", "/x", Reply(503, "upstream down"))
    with client(http_server, max_attempts=3) as http, pytest.raises(ProviderError) as error:
        http.request("GET", "/x")
    assert error.value.status == 503 and error.value.retryable
    assert "upstream down" in str(error.value)
    assert len(http_server.requests_to("/x")) == 3


def test_4xx_is_not_retried(http_server):
    http_server.add("GET", "/x", Reply(401, {"message": "bad key"}))
    with client(http_server) as http, pytest.raises(ProviderError, match="HTTP 401"):
        http.request("GET", "/x")
    assert len(http_server.requests_to("/x")) == 1


def test_html_error_page_and_empty_body_are_clear_errors(http_server):
    http_server.add(
        "GET",
        "/html",
        Reply(
            200,
            "<html><head><title>Service Unavailable</title></head></html>",
            {"Content-Type": "text/html"},
        ),
    )
    http_server.add("GET", "/empty", Reply(200, b""))
    with client(http_server) as http:
        with pytest.raises(
            ProviderError, match="expected JSON, got text/html: HTML page 'Service Unavailable'"
        ):
            http.json("GET", "/html")
        with pytest.raises(ProviderError, match="empty body"):
            http.json("GET", "/empty")


def test_timeout_is_retried_then_reported(http_server):
    http_server.add("GET", "/slow", Reply(200, {"late": True}, delay_s=1.0))
    with (
        client(http_server, timeout_s=0.2, max_attempts=2) as http,
        pytest.raises(ProviderError, match="timed out"),
    ):
        http.request("GET", "/slow")


def test_connection_refused_is_reported():
    dead = ProviderHTTP("dead", "http://127.0.0.1:9", max_attempts=2, sleep=lambda s: None)
    with dead as http, pytest.raises(ProviderError, match="connection failed"):
        http.request("GET", "/")


def test_credentials_are_redacted_from_messages():
    assert (
        redact("https://x/search?q=a&apiKey=SECRET123&key=abc")
        == "https://x/search?q=a&apiKey=***&key=***"
    )
    assert isinstance(httpx.Timeout(1), httpx.Timeout)


def test_download_streams_to_a_file_after_a_retry(http_server, tmp_path):
    body = b"PK" + bytes(range(256)) * 4096  # ~1 MB, several chunks
    http_server.add("GET", "/extract.zip", Reply(503, "busy"), Reply(200, body))
    target = tmp_path / "extract.zip"
    with client(http_server) as http:
        response = http.download("/extract.zip", target, chunk_size=64 * 1024)
    assert response.status_code == 200
    assert target.read_bytes() == body
    assert not list(tmp_path.glob("*.partial"))


def test_failed_download_leaves_no_file(http_server, tmp_path):
    http_server.add("GET", "/missing.zip", Reply(404, "<html><title>Not Found</title></html>"))
    target = tmp_path / "missing.zip"
    with client(http_server) as http, pytest.raises(ProviderError, match=r"HTTP 404.*Not Found"):
        http.download("/missing.zip", target)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_an_unreadable_retry_after_falls_back_to_the_backoff(http_server):
    http_server.add(
        "GET", "/x", Reply(503, "busy", {"Retry-After": "soon"}), Reply(200, {"ok": True})
    )
    waits = []
    with client(http_server, backoff_s=0.5, sleep=waits.append) as http:
        assert http.json("GET", "/x") == {"ok": True}
    assert len(waits) == 1 and 0.25 <= waits[0] <= 0.5
