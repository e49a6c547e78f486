"""Polling a platform page by page, trusting nothing it says about itself.

Why: a platform may answer fewer orders than we asked for (Temu caps `pageSize`,
eBay caps `limit`), report a total that disagrees with what arrived, stop giving a
next token early, or hand back the same token forever. So each adapter's `page()`
reports what one answer really held (its order ids, where the next page starts as
the platform said it, the total it claimed), and `walk` here decides:

- the next page starts after what arrived, never after what we asked for;
- an empty page, or no next token, ends the walk;
- a token seen before in the same walk, or more pages than CHANNEL_POLL_MAX_PAGES,
  ends it too, so a platform that loops cannot hang a worker;
- when the largest total the platform claimed is more than the distinct orders that
  arrived, the poll is incomplete: the account's health says so and the cursor does
  not move past the window, so the next poll reads it again (the upsert is
  idempotent, reading twice is harmless; losing an order is not).

The cursor (ChannelAccount.cursor_token) is committed after the orders of each page
are stored, so a worker killed mid-poll resumes from the last stored page."""
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..models_base import utcnow
from .http import ChannelHTTPError
from .models import ChannelAccount
from .normalise import UnreadablePayload

log = logging.getLogger(__name__)
DEFAULT_MAX_PAGES = 500
POLL_OVERLAP = timedelta(minutes=2)  # the platforms' clocks and ours; the upsert is idempotent
# What stops a poll part-way: the cursor stays at the last stored page.
POLL_ERRORS = (ChannelHTTPError, UnreadablePayload, ValueError, KeyError)
PLATFORM_NAMES = {"amazon": "Amazon", "ebay": "eBay", "shopify": "Shopify", "temu": "Temu"}


def _config(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def page_size(asked: int | None, largest: int) -> int:
    """The page size to ask a platform for: `asked` (the largest it documents when
    None), within 1..largest. What it answers may still be fewer."""
    return largest if asked is None else max(1, min(int(asked), largest))


@dataclass
class Page:
    """One answer of a platform's order list."""
    ids: list            # the external order ids the answer held, in its order
    orders: Iterable     # the raw orders, as the adapter's parse() takes them (lazy)
    next: dict | None    # where the next page starts, as the platform said; None: last
    total: int | None = None  # how many orders the platform says the whole list holds


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass
class Cursor:
    """A poll in progress: the window it reads and how far it has stored."""
    since: datetime
    until: datetime
    at: dict | None = None      # where the next page starts (None: the first page)
    pages: int = 0              # pages stored so far in this poll
    arrived: int = 0            # distinct orders those pages held
    total: int | None = None    # the largest total the platform claimed

    def dump(self) -> str:
        return json.dumps({"v": 1, "since": self.since.isoformat(),
                           "until": self.until.isoformat(), "at": self.at,
                           "pages": self.pages, "arrived": self.arrived,
                           "total": self.total}, sort_keys=True)

    @classmethod
    def load(cls, text: str | None) -> "Cursor | None":
        """The stored cursor, or None when there is none or it cannot be read (the
        poll then starts again from the account's last complete poll)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(since=_aware(datetime.fromisoformat(data["since"])),
                       until=_aware(datetime.fromisoformat(data["until"])),
                       at=data.get("at"), pages=int(data.get("pages") or 0),
                       arrived=int(data.get("arrived") or 0),
                       total=None if data.get("total") is None else int(data["total"]))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable poll cursor %r: starting the window again", text[:200])
            return None


@dataclass
class Outcome:
    """How a walk ended. `complete`: every page read, the window may be closed;
    `incomplete`: stopped on something the platform got wrong, read the window again;
    `continues`: stopped at the page bound, the next poll goes on from the cursor."""
    state: str = "complete"
    note: str | None = None
    orders: list = field(default_factory=list)   # the ingest results, in order
    pages: int = 0                                # pages read in this walk


def _key(at: dict | None) -> str:
    return json.dumps(at, sort_keys=True, default=str)


def store_cursor(session: Session, account_id: int, cursor: Cursor | None) -> None:
    account = session.get(ChannelAccount, account_id)
    account.cursor_token = cursor.dump() if cursor is not None else None
    session.commit()


def walk(session: Session, account_id: int, module, cursor: Cursor, *,
         max_pages: int = DEFAULT_MAX_PAGES, size: int | None = None,
         outcome: Outcome | None = None) -> Outcome:
    """Read pages from `cursor.at` on, storing each page's orders (one transaction
    per page, by `ingest_many`) and then the cursor (except after the last page:
    the caller closes the window). Raises what the platform's HTTP or answers raise
    (POLL_ERRORS): the cursor is then at the last stored page, and `outcome` (when
    given) holds what was ingested before."""
    from .services import ingest_many  # services imports the adapters, which import this
    account = session.get(ChannelAccount, account_id)
    platform = PLATFORM_NAMES.get(account.channel, account.channel)
    outcome = outcome if outcome is not None else Outcome()
    seen_ids: set = set()
    seen_at = {_key(cursor.at)}
    resuming = cursor.at is not None
    for _ in range(max_pages):
        account = session.get(ChannelAccount, account_id)
        try:
            page = module.page(account, cursor.since, cursor.until, cursor.at, size=size)
        except ChannelHTTPError as error:
            if not (resuming and error.status and 400 <= error.status < 500
                    and error.status != 429):
                raise
            # A stored page token the platform no longer takes (they expire): read
            # the window again from its start rather than stop polling for good.
            log.warning("account %s: %s refused the stored page token (%s); reading the "
                        "window again", account_id, platform, error)
            cursor.at, cursor.pages, cursor.arrived, cursor.total = None, 0, 0, None
            seen_at = {_key(None)}
            resuming = False
            continue
        resuming = False
        # The page's orders in one transaction (one at a time if one is refused).
        outcome.orders.extend(r.to_dict() for r in ingest_many(
            session, account_id, list(page.orders), source="poll"))
        outcome.pages += 1
        fresh = 0
        for n, external_id in enumerate(page.ids):
            key = external_id if external_id not in (None, "") else ("no id", cursor.pages, n)
            if key not in seen_ids:
                seen_ids.add(key)
                fresh += 1
        cursor.pages += 1
        cursor.arrived += fresh
        if page.total is not None:
            cursor.total = max(cursor.total or 0, page.total)
        if not page.ids or page.next is None:
            return _ended(outcome, cursor, platform, empty_with_next=not page.ids
                          and page.next is not None)
        if _key(page.next) in seen_at:
            outcome.state = "incomplete"
            outcome.note = (f"{platform} gave the same next-page token twice (after page "
                            f"{cursor.pages}); the poll stopped there and will read this "
                            "window again.")
            return outcome
        if fresh == 0:
            outcome.state = "incomplete"
            outcome.note = (f"{platform} answered page {cursor.pages} with only orders it "
                            "had already sent in this poll; the poll stopped there and will "
                            "read this window again.")
            return outcome
        seen_at.add(_key(page.next))
        cursor.at = page.next
        # This page's orders are stored: only now may the cursor pass them.
        store_cursor(session, account_id, cursor)
    outcome.state = "continues"
    outcome.note = (f"{platform} had more than {max_pages} pages of orders; "
                    f"{cursor.pages} pages are stored and the next poll goes on from there.")
    return outcome


def _ended(outcome: Outcome, cursor: Cursor, platform: str, *, empty_with_next: bool
           ) -> Outcome:
    since = cursor.since.strftime("%Y-%m-%d %H:%M UTC")
    if cursor.total is not None and cursor.arrived < cursor.total:
        outcome.state = "incomplete"
        outcome.note = (f"{platform} said {cursor.total} orders changed since {since}, but "
                        f"only {cursor.arrived} arrived in {cursor.pages} pages. The "
                        "orders that arrived are stored; the next poll reads this window "
                        "again.")
    elif cursor.total is None and empty_with_next:
        outcome.state = "incomplete"
        outcome.note = (f"{platform} answered an empty page that still pointed to a next "
                        f"one (after {cursor.pages} pages); the next poll reads this "
                        "window again.")
    elif cursor.total is not None and cursor.arrived > cursor.total:
        outcome.note = (f"{platform} said {cursor.total} orders changed since {since}, but "
                        f"{cursor.arrived} arrived; all of them are stored.")
    return outcome


def poll(session: Session, account_id: int, now: datetime | None = None, *,
         page_size: int | None = None, max_pages: int | None = None) -> dict:
    """The whole poll of one account, page by page (what jobs.poll_account runs).

    Starts from the stored cursor when there is one (a killed or failed poll goes on
    from its last stored page, in the same window), else from a new window
    [last_updated_after (or now - CHANNEL_INITIAL_LOOKBACK_DAYS), now]. Each page's
    orders are ingested (one transaction per page), then the cursor is stored
    and committed. At the end:

    - complete: last_updated_after = the window's end - POLL_OVERLAP, cursor cleared,
      last_error cleared;
    - incomplete (the platform's total is more than what arrived, a token or page that
      loops, an empty page pointing to another): last_error says what happened, the
      cursor is cleared and last_updated_after stays, so the next poll reads the
      window again;
    - cut at CHANNEL_POLL_MAX_PAGES pages: last_error says so, the cursor stays, so
      the next poll goes on from there (a backlog still gets through);
    - a POLL_ERRORS error (a 429 or 5xx past its retries, an unreadable answer): the
      current page is rolled back, last_error recorded, the cursor kept at the last
      stored page; `error` and `retry_after` (seconds, when the platform said) in the
      summary let the caller queue the next try.

    last_poll_at = now in every case. Returns {"account_id", "orders" (ingest result
    dicts), "pages" (read in this poll), "complete", "error", "retry_after",
    "note"}; {"account_id", "skipped"} and the same keys for an inactive or missing
    account."""
    from .adapters import adapter
    summary = {"account_id": account_id, "orders": [], "pages": 0, "complete": False,
               "error": None, "retry_after": None, "note": None}
    account = session.get(ChannelAccount, account_id)
    if account is None or not account.active:
        summary["skipped"] = "inactive or missing"
        return summary
    now = now or utcnow()
    cursor = Cursor.load(account.cursor_token)
    if cursor is None:
        lookback = timedelta(days=_config("CHANNEL_INITIAL_LOOKBACK_DAYS", 7))
        cursor = Cursor(since=account.last_updated_after or (now - lookback), until=now)
    module = adapter(account.channel)
    outcome = Outcome()
    try:
        walk(session, account_id, module, cursor, outcome=outcome, size=page_size,
             max_pages=max_pages or int(_config("CHANNEL_POLL_MAX_PAGES",
                                                 DEFAULT_MAX_PAGES)))
    except POLL_ERRORS as error:
        session.rollback()
        account = session.get(ChannelAccount, account_id)
        account.last_error = f"{now.isoformat()}: {error}"[:2000]
        account.last_poll_at = now
        session.commit()
        log.warning("account %s: poll stopped after %s pages: %s", account_id,
                    outcome.pages, error)
        summary.update(orders=outcome.orders, pages=outcome.pages, error=str(error),
                       retry_after=getattr(error, "retry_after", None))
        return summary
    account = session.get(ChannelAccount, account_id)
    account.last_poll_at = now
    if outcome.state == "complete":
        account.last_updated_after = cursor.until - POLL_OVERLAP
        account.cursor_token = None
        account.last_error = None
    else:
        account.last_error = f"{now.isoformat()}: {outcome.note}"[:2000]
        if outcome.state == "incomplete":
            account.cursor_token = None
        log.warning("account %s: poll %s: %s", account_id, outcome.state, outcome.note)
    session.commit()
    summary.update(orders=outcome.orders, pages=outcome.pages,
                   complete=outcome.state == "complete", note=outcome.note)
    return summary


def fetch_pages(page: Callable[..., Page], account, since, until, *,
                size: int | None = None, max_pages: int = DEFAULT_MAX_PAGES) -> Iterator:
    """Every raw order of the window, page after page, without storing anything:
    the adapters' `fetch`, for callers that read a window in one go. The same
    rules as `walk`: stops on an empty page, a missing next page, a token seen
    before, or `max_pages`."""
    at, seen = None, {_key(None)}
    for _ in range(max_pages):
        answer = page(account, since, until, at, size=size)
        yield from answer.orders
        if not answer.ids or answer.next is None or _key(answer.next) in seen:
            return
        seen.add(_key(answer.next))
        at = answer.next
