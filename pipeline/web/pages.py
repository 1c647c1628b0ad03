"""The pages `pipeline serve` answers with: templates, error pages and the headers every
response carries."""

from __future__ import annotations

import zoneinfo

from starlette.responses import HTMLResponse

from pipeline.lib.templates import template_environment

KIND_LABELS = {
    "instant_alert": "instant alerts",
    "daily_digest": "the daily digest",
    "weekly_digest": "the weekly digest",
    "deadline_reminder": "deadline reminders",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # The page's URL carries the token: it never leaves this site. Not `no-referrer`: with it
    # browsers send `Origin: null` on the page's own POST, which the Origin check refuses.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
TIMEZONES = sorted(zoneinfo.available_timezones())

_templates = template_environment("pipeline.web")


class PageError(Exception):
    """Answered with a page that says what went wrong."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class Redirect(Exception):
    """Answered with a 303 to `url` (e.g. /login for a page that needs a signed-in user)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def page(name: str, status: int = 200, headers: dict | None = None, **context) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(error: PageError) -> HTMLResponse:
    headers = {"Retry-After": "60"} if error.status == 503 else None
    return page(
        "message.html", error.status, headers, title=error.title, message=error.message, ok=False
    )


INVALID_LINK = PageError(
    400,
    "This link is not valid",
    "The link is incomplete or was changed. Open it again from the e-mail you received; "
    "if it still fails, the e-mail may be from before this service's signing key changed.",
)
NOT_A_USER = PageError(
    404, "Not a recipient", "This address does not receive e-mail from this service (any more)."
)
USERS_FILE_BROKEN = PageError(
    503,
    "Preferences are unavailable",
    "The list of recipients cannot be read right now; please try again later.",
)
NOT_FROM_THIS_PAGE = PageError(
    403,
    "Please try again",
    "The form was not sent from this page (or the page was open too long). "
    "Open the preferences link again and save once more.",
)
TOO_LARGE = PageError(
    413, "Too much at once", "The form sent is larger than this service accepts; send less."
)
