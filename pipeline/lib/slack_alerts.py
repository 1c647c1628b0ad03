"""Operator alerts' second channel: the same one-per-root-cause message also goes to a Slack
channel when SLACK_BOT_TOKEN and PIPELINE_SLACK_CHANNEL are set (slack_sdk's Web API client;
dagster-slack's resource takes no base URL, and alerts are sent outside any op). SLACK_BASE_URL
points the client elsewhere (a test's fake Web API). Slack failing only logs: e-mail has gone
out already and never waits for it."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from pipeline.lib.settings.notify import SlackSettings, slack_settings

log = logging.getLogger(__name__)

# An alert is sent from a sensor tick: Slack may not stall it.
TIMEOUT_S = 5


def post_alert(subject: str, body: str, slack: SlackSettings | None = None) -> bool:
    """Post one operator alert; True when Slack accepted it. Never raises."""
    slack = slack or slack_settings()
    if slack is None:
        return False
    base_url = slack.base_url or WebClient.BASE_URL
    client = WebClient(token=slack.token, base_url=base_url, timeout=TIMEOUT_S)
    try:
        client.chat_postMessage(channel=slack.channel, text=f"*{subject}*\n{body}")
    except (SlackClientError, OSError) as error:
        # SlackApiError's text names the API error (e.g. channel_not_found), never the token.
        log.warning("operator alert %r not posted to Slack: %s", subject, error)
        return False
    return True
