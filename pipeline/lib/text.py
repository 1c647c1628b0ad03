"""Plain text from provider fields: the one markup cleaner every domain's parsers share."""

from __future__ import annotations

import html
import re
from typing import Any

_TAG = re.compile(r"<[^>]+>")


def plain_text(text: Any) -> str:
    """Plain text from a field that may hold HTML, entities, or entities escaped twice (real
    extracts hold ``&amp;lt;br/&amp;gt;``, which XML parsing turns into ``&lt;br/&gt;``):
    unescape until stable, then drop tags and collapse whitespace."""
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    changed = False
    if "&" in text:
        changed = True
        for _ in range(3):
            unescaped = html.unescape(text)
            if unescaped == text:
                break
            text = unescaped
    if "<" in text:
        changed = True
        text = _TAG.sub(" ", text)
    # Most fields are clean already: scanning for what split() would change is cheaper than
    # splitting a 2 KB description into words and joining them again.
    if changed or "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        return " ".join(text.split())
    return text.strip()
