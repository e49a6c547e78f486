"""The public tracking page (issue #11, item 3): no log-in, server-rendered, in the
customer's language.

- `GET /t/<token>`: the order's page, by the unguessable token every order has
  (orders.tracking_token, 192 random bits; the link the seller and the shipping
  notices give the customer). Any other token: the same translated 404 page.
- `GET /track`, `POST /track`: look an order up by its order number or a tracking
  number, with the delivery ZIP; found, it redirects (303) to the order's page.
  An unknown number and a wrong ZIP get one and the same answer. The POST is
  rate-limited per client address (TRACKING_LOOKUP_RATE_LIMIT, default
  "10 per minute;100 per hour"), counting every try.

The language is server/i18n.select_locale's (?lang=, a logged-in user's setting,
the hc_locale cookie, Accept-Language); the switcher is plain links with ?lang=,
kept through the lookup and its redirect. No script: one small style sheet
(static/src/tracking.css, built with a content hash like the PWA's).
What the page reads, and in how many statements: services.py.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import (Blueprint, Response, current_app, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import format_date
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError

from .. import i18n
from ..auth.doors import public
from ..extensions import db, limiter
from . import services

bp = Blueprint("tracking_page", __name__, template_folder="templates")

DEFAULT_LIMIT = "10 per minute;100 per hour"
# Each language named in itself, so anyone finds their own.
LANGUAGES = (("en", "English"), ("zh_Hans", "简体中文"), ("zh_Hant", "繁體中文"),
             ("es", "Español"))
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "es": "es"}


def _chosen_lang() -> str | None:
    """The language the visitor picked with ?lang= (kept in links), else None."""
    return i18n.match_locale(request.args.get(i18n.LANG_PARAM))


def _lang_args() -> dict:
    chosen = _chosen_lang()
    return {i18n.LANG_PARAM: chosen} if chosen else {}


@bp.context_processor
def _page_context():
    locale = i18n.current_locale()
    args = dict(request.view_args or {})
    endpoint = request.endpoint if request.endpoint in (
        "tracking_page.page", "tracking_page.lookup") else "tracking_page.lookup"
    if endpoint == "tracking_page.lookup":
        args = {}
    languages = [{"code": code, "name": name, "html_lang": HTML_LANG[code],
                  "current": code == locale,
                  "url": url_for(endpoint, **args, **{i18n.LANG_PARAM: code})}
                 for code, name in LANGUAGES]
    return {"html_lang": HTML_LANG.get(locale, "en"), "languages": languages,
            "lang_args": _lang_args(), "page_locale": locale}


def _headers(response, status: int | None = None):
    response = make_response(response)
    if status is not None:
        response.status_code = status
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


# -- formatting in the page's locale, times in the destination's time zone ----------------

class _Formats:
    def __init__(self, tz: str):
        self.tz = ZoneInfo(tz)
        self.locale = i18n.current_locale()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def day(self, value) -> str:
        if isinstance(value, datetime):
            value = self.local(value).date()
        return format_date(value, "full")

    def short_day(self, value) -> str:
        if isinstance(value, datetime):
            value = self.local(value).date()
        return format_date(value, "medium")

    def time(self, moment: datetime) -> str:
        return babel_dates.format_time(moment, "short", tzinfo=self.tz, locale=self.locale)

    def when(self, moment: datetime) -> str:
        """Date and time, joined as the locale joins them ("Dec 6, 2026, 6:35 PM",
        "2026年12月6日 下午6:35")."""
        joined = str(Locale.parse(self.locale).datetime_formats.get("medium", "{1} {0}"))
        return joined.replace("{1}", self.short_day(moment)).replace("{0}", self.time(moment))


def _by_day(events, formats: _Formats) -> list[tuple[date, list]]:
    """The timeline (newest first) grouped by the destination's calendar day."""
    days: list[tuple[date, list]] = []
    for event in events:
        day = formats.local(event.occurred_at).date()
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(event)
    return days


# -- pages -------------------------------------------------------------------------------

def not_found():
    return _headers(render_template("tracking/not_found.html"), 404)


@bp.route("/t/<path:token>")
@public
def page(token):
    """One order's tracking page, by its token."""
    view = services.load(db.session, token)
    if view is None:
        return not_found()
    formats = _Formats(view.timezone)
    timelines = {s.id: _by_day(s.events, formats) for s in view.shipments}
    return _headers(render_template(
        "tracking/page.html", view=view, f=formats, timelines=timelines,
        stages=services.STAGES, stage_names=services.STAGE_NAMES,
        headlines=services.HEADLINES, explanations=services.EXPLANATIONS,
        statuses=services.STATUSES))


@bp.route("/t/<token>/photo/<sha256>")
@public
def proof_photo(token, sha256):
    """The proof-of-delivery picture of the order of `token` (no other file)."""
    found = services.proof_file(db.session, token, sha256)
    if found is None:
        return not_found()
    body, content_type = found
    return Response(body, mimetype=content_type, headers={
        "Cache-Control": "private, max-age=86400, immutable",
        "X-Content-Type-Options": "nosniff"})


def _form(errors=None, number="", zip_code="", status=200, message=None):
    return _headers(render_template("tracking/lookup.html", errors=errors or {},
                                    number=number, zip_code=zip_code, message=message),
                    status)


@bp.route("/track")
@public
def lookup():
    """The lookup form: order or tracking number, and the delivery ZIP."""
    return _form()


def _too_many(_limit):
    return _form(number=(request.form.get("number") or "").strip()[:64], status=429,
                 message="rate_limited")


@bp.route("/track", methods=["POST"])
@public
@limiter.limit(lambda: current_app.config.get("TRACKING_LOOKUP_RATE_LIMIT", DEFAULT_LIMIT),
               key_func=get_remote_address, on_breach=_too_many)
def lookup_form():
    """Find the order; its page (303), or the one answer for every miss (404)."""
    number = (request.form.get("number") or "").strip()[:64]
    zip_code = (request.form.get("zip") or "").strip()[:10]
    errors = {}
    if not number:
        errors["number"] = "required"
    if not zip_code:
        errors["zip"] = "required"
    elif services.zip5(zip_code) is None:
        errors["zip"] = "invalid"
    if errors:
        return _form(errors, number, zip_code, 422)
    token = services.find_token(db.session, number, zip_code)
    if token is None:
        return _form(number=number, zip_code=zip_code, status=404, message="not_found")
    return redirect(url_for("tracking_page.page", token=token, **_lang_args()), 303)


@bp.errorhandler(CSRFError)
def _expired_form(_error):
    """A form posted without its token (a session cookie gone): the form again."""
    return _form(status=400, message="expired")


def init_app(app) -> None:
    app.register_blueprint(bp)
