"""The preferences form: what it shows, what a submission may hold (bounded: a form is typed
by a person, and every keyword is matched against every grant), and the problems to show."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request

from pipeline.lib.notify.users import User
from pipeline.web.pages import TOO_LARGE

# A real form is a few KB; this leaves room for every watchlist filled to its limits.
MAX_BODY_BYTES = 64 * 1024
MAX_WATCHLISTS = 20
MAX_WORDS_PER_FIELD = 50
MAX_WORD_CHARS = 100
MAX_NAME_CHARS = 100
WATCHLIST_FIELDS = ("include_keywords", "exclude_keywords", "agencies", "eligibility")
FIELD_LABELS = {"digest.day": "digest_day", "digest.hour": "digest_hour"}


async def bounded(request: Request, limit: int = MAX_BODY_BYTES) -> Request:
    """The request with its body read, refused (413 page) past `limit` bytes: the declared
    length is checked first, then what actually arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TOO_LARGE
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TOO_LARGE

    async def replay():
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    return Request(request.scope, replay)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def form_values(user: User) -> dict:
    """A user's preferences as the form shows them."""
    return {
        "threshold": f"{user.threshold:g}",
        "categories": list(user.categories),
        "frequency": user.frequency,
        "digest_day": user.digest.day,
        "digest_hour": str(user.digest.hour),
        "timezone": user.timezone,
        "watchlists": [
            {
                "name": w.name,
                **{f: ", ".join(getattr(w, f)) for f in WATCHLIST_FIELDS},
                "amount_min": "" if w.amount_min is None else f"{w.amount_min:g}",
                "amount_max": "" if w.amount_max is None else f"{w.amount_max:g}",
            }
            for w in user.watchlists
        ],
    }


def _watchlist_problems(label: str, entry: dict) -> list[tuple[str, str]]:
    problems = []
    if not entry["name"]:
        problems.append((label, "give the watchlist a name"))
    elif len(entry["name"]) > MAX_NAME_CHARS:
        problems.append((label, f"name: at most {MAX_NAME_CHARS} characters"))
    for name in WATCHLIST_FIELDS:
        words = _words(entry[name])
        if len(words) > MAX_WORDS_PER_FIELD:
            problems.append((label, f"{name}: at most {MAX_WORDS_PER_FIELD} entries"))
        if any(len(w) > MAX_WORD_CHARS for w in words):
            problems.append((label, f"{name}: each at most {MAX_WORD_CHARS} characters"))
    return problems


def parse_form(form) -> tuple[dict, list[tuple[str, str]]]:
    """The submitted values (kept as typed, to show them again) and the problems pydantic
    cannot name well (a watchlist without a name, the bounds)."""
    values = {
        "threshold": str(form.get("threshold", "")).strip(),
        "categories": [str(c) for c in form.getlist("categories")],
        "frequency": str(form.get("frequency", "")),
        "digest_day": str(form.get("digest_day", "")),
        "digest_hour": str(form.get("digest_hour", "")).strip(),
        "timezone": str(form.get("timezone", "")).strip(),
        "watchlists": [],
    }
    problems = []
    try:
        # Rows the page offers (saved ones plus empty ones to fill); bounded again below.
        count = min(int(str(form.get("watchlist_count", "0"))), MAX_WATCHLISTS + 5)
    except ValueError:
        count = 0
    for index in range(count):
        prefix = f"wl{index}_"
        entry = {
            name: str(form.get(prefix + name, "")).strip()
            for name in ("name", *WATCHLIST_FIELDS, "amount_min", "amount_max")
        }
        if form.get(prefix + "remove") or not any(entry.values()):
            continue
        problems += _watchlist_problems(f"watchlist {index + 1}", entry)
        values["watchlists"].append(entry)
    if len(values["watchlists"]) > MAX_WATCHLISTS:
        problems.append(("watchlists", f"at most {MAX_WATCHLISTS} watchlists"))
    return values, problems


def as_changes(values: dict) -> dict:
    """Form values as override columns (pydantic parses and checks the numbers)."""
    return {
        "threshold": values["threshold"],
        "categories": values["categories"],
        "frequency": values["frequency"],
        "digest_day": values["digest_day"],
        "digest_hour": values["digest_hour"],
        "timezone": values["timezone"],
        "watchlists": [
            {
                "name": w["name"],
                **{f: _words(w[f]) for f in WATCHLIST_FIELDS},
                "amount_min": w["amount_min"] or None,
                "amount_max": w["amount_max"] or None,
            }
            for w in values["watchlists"]
        ],
    }


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(form field, message) per problem: 'threshold', 'digest_hour', 'watchlist 2'."""
    problems = []
    for problem in error.errors():
        loc = [str(p) for p in problem["loc"]]
        where = ".".join(loc)
        message = problem["msg"].removeprefix("Value error, ")
        if loc and loc[0] == "watchlists" and len(loc) > 1 and loc[1].isdigit():
            where = f"watchlist {int(loc[1]) + 1}"
            message = f"{loc[2]}: {message}" if len(loc) > 2 else message
        problems.append((FIELD_LABELS.get(where, where), message))
    return problems
