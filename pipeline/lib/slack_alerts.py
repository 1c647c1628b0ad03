"""Operator alerts' second channel: the same one-per-root-cause message also goes to a Slack
channel when SLACK_BOT_TOKEN and PIPELINE_SLACK_CHANNEL are set (slack_sdk's Web API client;
dagster-slack's resource takes no base URL, and alerts are sent outside any op). SLACK_BASE_URL
points the client elsewhere (a test's fake Web API). Slack failing only logs: e-mail has gone
out already and never waits for it."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = WebClient.BASE_URL
# An alert is sent from a sensor tick: Slack may not stall it.
TIMEOUT_S = 5


@dataclass(frozen=True)
class SlackSettings:
    token: str = field(repr=False)
    channel: str
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, environ: dict | None = None) -> SlackSettings | None:
        """None unless both the bot token and the channel are set."""
        env = os.environ if environ is None else environ
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        channel = env.get("PIPELINE_SLACK_CHANNEL", "").strip()
        if not (token and channel):
            return None
        base_url = env.get("SLACK_BASE_URL", "").strip() or DEFAULT_BASE_URL
        return cls(token, channel, base_url.rstrip("/") + "/")


def post_alert(subject: str, body: str, slack: SlackSettings | None = None) -> bool:
    """Post one operator alert; True when Slack accepted it. Never raises."""
    slack = slack or SlackSettings.from_env()
    if slack is None:
        return False
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=TIMEOUT_S)
    try:
        client.chat_postMessage(channel=slack.channel, text=f"*{subject}*\n{body}")
    except (SlackClientError, OSError) as error:
        # SlackApiError's text names the API error (e.g. channel_not_found), never the token.
        log.warning("operator alert %r not posted to Slack: %s", subject, error)
        return False
    return True
