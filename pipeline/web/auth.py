"""Sign-in without passwords for the team's pages: GET/POST /login sends a single-use link
(valid 15 minutes) to a users.yaml user whose role may use them; the link's page has a button
whose POST starts a session (a GET alone never does: mail scanners follow links); POST /logout
ends it. The answer to /login is the same whether or not the address is known. Requests are
rate-limited per address and per client (in this process)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline.lib import web_sessions
from pipeline.lib.notify.mailer import MailSettings
from pipeline.lib.notify.render import Email
from pipeline.lib.notify.users import User, load_users
from pipeline.lib.rate_limit import SlidingWindowLimit
from pipeline.lib.settings import settings
from pipeline.web import forms
from pipeline.web.pages import NOT_FROM_THIS_PAGE, PageError, Redirect, page

log = logging.getLogger("pipeline.web")

SESSION_COOKIE = "pipeline_session"
SIGNIN_KIND = "sign_in"
PER_ADDRESS = SlidingWindowLimit(max_runs=5, window=dt.timedelta(minutes=15))
PER_CLIENT = SlidingWindowLimit(max_runs=30, window=dt.timedelta(minutes=15))
TOO_MANY = PageError(429, "Too many requests", "Please wait a few minutes and try again.")
BAD_LINK = PageError(
    400,
    "This sign-in link cannot be used",
    "It is incomplete, expired (links last 15 minutes) or was used already. "
    "Ask for a new one on the sign-in page.",
)
NOT_ALLOWED = PageError(403, "Not for your role", "Your role does not include this page.")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RateLimits:
    """Sliding windows per key, kept in memory: one service process answers /login."""

    # Past this many keys, those with nothing left in their window are dropped, so a flood of
    # made-up addresses cannot grow the table without bound.
    MAX_KEYS = 10_000

    def __init__(self, limit: SlidingWindowLimit) -> None:
        self.limit = limit
        self.seen: dict[str, list[dt.datetime]] = defaultdict(list)
        self.lock = threading.Lock()

    def take(self, key: str, at: dt.datetime) -> bool:
        """Count one request for `key`; False when the window is already full."""
        with self.lock:
            if len(self.seen) > self.MAX_KEYS:
                self.seen = defaultdict(
                    list, {k: v for k, v in self.seen.items() if self.limit.recent(v, at)}
                )
            recent = self.limit.recent(self.seen[key], at)
            if len(recent) >= self.limit.max_runs:
                self.seen[key] = recent
                return False
            self.seen[key] = [*recent, at]
            return True


class Auth:
    def __init__(self, app) -> None:
        self.app = app
        self.sessions = web_sessions.WebSessions(app.events)
        self.per_address = RateLimits(PER_ADDRESS)
        self.per_client = RateLimits(PER_CLIENT)

    @property
    def secure(self) -> bool:
        return self.app.config.public_url.startswith("https://")

    def team_user(self, user_id: str) -> User | None:
        try:
            users = load_users(self.app.config.config_dir)
        except ValueError as error:
            log.warning("users.yaml unreadable: %s", error)
            return None
        found = [u for u in users if u.user_id == user_id and u.role in web_sessions.TEAM_ROLES]
        return found[0] if found else None

    def signed_in(self, request: Request) -> User | None:
        user_id = self.sessions.user(request.cookies.get(SESSION_COOKIE, ""), now())
        return self.team_user(user_id) if user_id else None

    async def require(self, request: Request, page_name: str) -> User:
        """The signed-in user allowed on `page_name`; else off to /login (or 403)."""
        user = await run_in_threadpool(self.signed_in, request)
        if user is None:
            raise Redirect("/login")
        if not web_sessions.may_use(user.role, page_name):
            raise NOT_ALLOWED
        return user

    # --- sending the link ------------------------------------------------------------------

    def send_link(self, user: User) -> None:
        mail = MailSettings.from_env(settings().outbox)
        token = web_sessions.make_link_token(self.app.config.secret, user.user_id, now())
        url = f"{self.app.config.public_url.rstrip('/')}/login/link?" + urlencode({"t": token})
        message = mail.compose(
            Email(
                kind=SIGNIN_KIND,
                recipient=user.email,
                subject="Your sign-in link",
                heading="Sign in to the pipeline's pages",
                paragraphs=(
                    f"Open this link within 15 minutes to sign in: {url}",
                    "It works once. If you did not ask for it, ignore this e-mail.",
                ),
                footer="You receive this because someone asked to sign in with this address.",
            ),
            identity=(token,),
            user_id=None,
            tenant_id=user.tenant,
        )
        transport = mail.transport()
        try:
            outcome = transport.send(message.message_id, message.recipient, message.raw_message)
        finally:
            transport.close()
        log.info("sign-in link sent (%s)", "accepted" if outcome.accepted else "not accepted")

    async def login_page(self, request: Request) -> Response:
        return page("login.html", sent=None)

    async def login(self, request: Request) -> Response:
        form = await (await forms.bounded(request)).form()
        address = str(form.get("email", "")).strip().lower()[:254]
        at = now()
        if not self.per_client.take(request.client.host if request.client else "?", at):
            raise TOO_MANY
        # Over the per-address limit the answer stays the same: it must not tell who exists.
        if address and self.per_address.take(address, at):
            user = await run_in_threadpool(self.team_user, address)
            if user is not None:
                try:
                    await run_in_threadpool(self.send_link, user)
                except Exception as error:  # an error page would tell who exists
                    log.warning("sign-in link not sent: %s", error)
        return page("login.html", sent=address)

    # --- following the link ----------------------------------------------------------------

    def link(self, token: str) -> web_sessions.SignInLink:
        link = web_sessions.verify_link_token(self.app.config.secret, token, now())
        if link is None:
            raise BAD_LINK
        return link

    async def link_page(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        return page("signin_link.html", email=self.link(token).user_id, token=token)

    def _start(self, link: web_sessions.SignInLink) -> tuple[str, User]:
        if not self.sessions.use_link(link, now()):
            raise BAD_LINK
        user = self.team_user(link.user_id)
        if user is None:  # removed from users.yaml, or the role changed since
            raise BAD_LINK
        return self.sessions.start(user.user_id, now()), user

    async def follow_link(self, request: Request) -> Response:
        if not self.app.same_origin(request):
            raise NOT_FROM_THIS_PAGE
        form = await (await forms.bounded(request)).form()
        session_id, user = await run_in_threadpool(self._start, self.link(str(form.get("t", ""))))
        log.info("signed in one %s", user.role)
        response = RedirectResponse("/uploads", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(web_sessions.SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
        return response

    async def logout(self, request: Request) -> Response:
        if not self.app.same_origin(request):
            raise NOT_FROM_THIS_PAGE
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if session_id:
            await run_in_threadpool(self.sessions.end, session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=self.secure)
        return response
