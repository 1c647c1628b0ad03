"""OpenAI-compatible chat completions on the loopback FakeHTTPServer: replies in the exact
shape the `openai` client parses, so tests exercise the real client code."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from pipeline_tests.fakes.http_server import FakeHTTPServer, Recorded, Reply

CHAT_PATH = "/v1/chat/completions"
_ids = itertools.count(1)


def chat_completion(
    content: dict | str | None,
    *,
    model: str = "gpt-4o-mini",
    prompt_tokens: int = 120,
    completion_tokens: int = 40,
    refusal: str | None = None,
    delay_s: float = 0.0,
) -> Reply:
    text = json.dumps(content) if isinstance(content, dict) else content
    return Reply(
        200,
        {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text, "refusal": refusal},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
        delay_s=delay_s,
    )


def error_reply(status: int, retry_after: str | None = None) -> Reply:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Reply(
        status,
        {"error": {"message": f"fake error {status}", "type": "server_error", "code": None}},
        headers=headers,
    )


def request_payload(request: Recorded) -> dict:
    """The user message's JSON (profile and item) of a recorded chat request."""
    return json.loads(request.json()["messages"][-1]["content"])


def scoring_handler(delay_s: float = 0.0) -> Callable[[Recorded], Reply]:
    """Answers grant requests with score 0.9 and news requests with relevance 0.8, category
    'funding', as a well-behaved model would."""

    def handle(request: Recorded) -> Reply:
        payload = request_payload(request)
        if "grant" in payload:
            content = {"score": 0.9, "confidence": 0.8, "reason": "Strong fit with the mission."}
        else:
            content = {
                "relevance": 0.8,
                "confidence": 0.7,
                "category": "funding",
                "summary": "The client raised money. Investors are named.",
                "reason": "The article is about the client's funding.",
            }
        return chat_completion(content, model=request.json()["model"], delay_s=delay_s)

    return handle


def serve_openai(server: FakeHTTPServer, delay_s: float = 0.0) -> str:
    """Install the well-behaved handler and return the base_url for the openai client."""
    server.handle("POST", CHAT_PATH, scoring_handler(delay_s))
    return f"{server.base_url}/v1"
