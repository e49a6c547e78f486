"""Polling follows each platform's own paging (issue #9 item 3): pages may hold fewer
orders than asked, totals may lie, tokens may loop, a poll may stop half-way; every
order arrives exactly once and the cursor moves only past stored pages."""
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.channels import services as channels
from server.channels.adapters import adapter
from server.channels.adapters.shopify import API_VERSION
from server.channels.fake_marketplace import CREDENTIALS, FakeMarketplace
from server.channels.models import ChannelAccount
from server.channels.paging import POLL_OVERLAP, Cursor, poll

from .channel_helpers import add_fake_orders, make_shop, stored_external_ids
from .helpers import unique

CHANNELS = ("amazon", "ebay", "shopify", "temu")
SINCE = datetime.now(UTC) - timedelta(hours=1)
# Each platform's order-list call, as the fake records it: (path, Temu API name).
LIST_CALL = {"amazon": ("/orders/v0/orders", None),
             "ebay": ("/sell/fulfillment/v1/order", None),
             "shopify": (f"/admin/api/{API_VERSION}/orders.json", None),
             "temu": ("/openapi/router", "bg.order.list.v2.get")}


@pytest.fixture
def fake():
    marketplace = FakeMarketplace(page_size=2).start()
    yield marketplace
    marketplace.stop()


@pytest.fixture
def shop(db_session, fake):
    return make_shop(db_session, base_url=fake.url)


@pytest.fixture
def one_attempt(app, monkeypatch):
    """No retries in place: an injected 5xx stops the poll at once."""
    monkeypatch.setitem(app.config, "CHANNEL_HTTP_ATTEMPTS", 1)


def new_account(s, shop, fake, channel: str) -> ChannelAccount:
    account = channels.create_account(
        s, seller_id=shop.seller.id, channel=channel, account_key=unique(channel[:4]),
        credentials=dict(CREDENTIALS[channel]), base_url=fake.url)
    account.last_updated_after = SINCE
    s.commit()
    return account


def list_calls(fake, channel: str) -> list[dict]:
    path, api = LIST_CALL[channel]
    with fake.lock:
        return [c for c in fake.requests if c["path"] == path and (api is None or
                                                                   c["api"] == api)]


def position(call: dict, channel: str):
    """Where an order-list call started, in the platform's own terms."""
    return {"amazon": lambda: call["query"].get("NextToken"),
            "ebay": lambda: int(call["query"]["offset"]),
            "shopify": lambda: call["query"].get("page_info"),
            "temu": lambda: (call["body"]["pageNumber"], call["body"]["pageSize"])}[channel]()


def account_row(s, account_id: int) -> ChannelAccount:
    s.expire_all()
    return s.get(ChannelAccount, account_id)


def created(summary) -> list[str]:
    return sorted(o["external_id"] for o in summary["orders"] if o["action"] == "created")


# -- the Temu reproduction --------------------------------------------------------------

@pytest.mark.parametrize("orders, cap", [(120, 50), (150, 25)])
def test_temu_pages_smaller_than_asked_lose_no_order(db_session, fake, shop, orders, cap):
    """Temu answers at most `cap` orders a page when we ask for 100: are all the
    orders ingested exactly once (120 with pages of 50 was 100 before; 150 with pages
    of 25 was 50), the cursor moved, no error recorded, and the old `fetch` path just
    as whole?"""
    account = new_account(db_session, shop, fake, "temu")
    fake.configure("temu", max_page=cap)
    ids = add_fake_orders(fake, "temu", orders)
    summary = poll(db_session, account.id)
    assert summary["error"] is None and summary["complete"] is True, summary
    assert created(summary) == sorted(ids)
    assert stored_external_ids(db_session, account) == sorted(ids)
    assert summary["pages"] == -(-orders // cap)
    asked = [c["body"]["pageNumber"] for c in list_calls(fake, "temu")]
    assert asked == list(range(1, summary["pages"] + 1))
    row = account_row(db_session, account.id)
    assert row.last_updated_after > SINCE and row.cursor_token is None
    assert row.last_error is None and row.last_poll_at is not None
    fetched = [r["order"]["parentOrderMap"]["parentOrderSn"]
               for r in adapter("temu").fetch(row, SINCE, datetime.now(UTC))]
    assert sorted(fetched) == sorted(ids)


# -- the property -----------------------------------------------------------------------

@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(channel=st.sampled_from(CHANNELS), orders=st.integers(0, 300),
       cap=st.integers(1, 12) | st.integers(1, 250), asked=st.none() | st.integers(1, 250))
# Each platform at least once with pages smaller than asked, the last one short.
@example(channel="amazon", orders=57, cap=7, asked=None)
@example(channel="ebay", orders=45, cap=4, asked=30)
@example(channel="shopify", orders=61, cap=9, asked=100)
@example(channel="temu", orders=123, cap=50, asked=None)
def test_every_order_arrives_exactly_once_whatever_the_page_sizes(
        db_session, fake, shop, channel, orders, cap, asked):
    """For any platform, number of orders (0-300), page cap of the platform (1-250)
    and page size asked: does every order arrive exactly once (one row each, one
    'created' each), the poll complete and the cursor move; and does a second poll
    add nothing?"""
    fake.reset()
    fake.configure(channel, max_page=cap)
    account = new_account(db_session, shop, fake, channel)
    ids = sorted(add_fake_orders(fake, channel, orders))
    first = poll(db_session, account.id, page_size=asked)
    assert first["error"] is None and first["complete"] is True, first
    assert created(first) == ids
    assert stored_external_ids(db_session, account) == ids
    row = account_row(db_session, account.id)
    assert row.cursor_token is None and row.last_error is None
    assert row.last_updated_after > SINCE
    second = poll(db_session, account.id, page_size=asked)
    assert second["complete"] is True and created(second) == []
    assert {o["action"] for o in second["orders"]} <= {"unchanged"}
    assert stored_external_ids(db_session, account) == ids


# -- a platform that lies ---------------------------------------------------------------

@pytest.mark.parametrize("channel", ["ebay", "temu"])
def test_a_total_that_claims_more_than_arrives_keeps_the_window_open(
        db_session, fake, shop, channel):
    """The platform says 5 more orders than it sends: is the poll marked incomplete,
    with the error on the account, the orders that did arrive stored, the cursor
    cleared and last_updated_after not moved, so the next poll reads the window
    again?"""
    account = new_account(db_session, shop, fake, channel)
    fake.configure(channel, max_page=10, extra_total=5)
    ids = sorted(add_fake_orders(fake, channel, 30))
    summary = poll(db_session, account.id)
    assert summary["complete"] is False and summary["error"] is None
    assert "said 35 orders" in summary["note"] and "only 30 arrived" in summary["note"]
    assert stored_external_ids(db_session, account) == ids
    row = account_row(db_session, account.id)
    assert row.last_updated_after == SINCE
    assert row.cursor_token is None
    assert "said 35 orders" in row.last_error
    again = poll(db_session, account.id)
    assert again["complete"] is False and created(again) == []
    assert stored_external_ids(db_session, account) == ids


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_next_page_that_never_moves_stops_the_walk(db_session, fake, shop, channel):
    """After 2 pages the platform's next page stops moving (Amazon and Shopify hand
    back the same token; eBay and Temu answer the same page again): does the walk
    stop within a page or two, marked incomplete on the account, without moving
    last_updated_after?"""
    account = new_account(db_session, shop, fake, channel)
    fake.configure(channel, max_page=5, loop_after=2)
    ids = sorted(add_fake_orders(fake, channel, 30))
    summary = poll(db_session, account.id)
    assert summary["complete"] is False and summary["error"] is None
    assert len(list_calls(fake, channel)) <= 4
    stored = stored_external_ids(db_session, account)
    assert len(stored) == len(set(stored)) == 15 and set(stored) <= set(ids)
    row = account_row(db_session, account.id)
    assert row.last_updated_after == SINCE and row.cursor_token is None
    assert ("same next-page token" in row.last_error or
            "already sent" in row.last_error), row.last_error


# -- a poll that stops half-way ---------------------------------------------------------

@pytest.mark.parametrize("channel", CHANNELS)
def test_a_poll_cut_after_two_pages_resumes_from_the_stored_page(
        db_session, fake, shop, one_attempt, channel):
    """The platform answers 500 to the third order-list page: are the first two
    pages' orders stored, the cursor left at page 3 (not moved past it, the window
    kept), the error on the account; and does the next poll go on from page 3, not
    from the start, and end with every order exactly once?"""
    account = new_account(db_session, shop, fake, channel)
    fake.configure(channel, max_page=5)
    ids = sorted(add_fake_orders(fake, channel, 23))
    path, api = LIST_CALL[channel]
    fake.inject(api or path, status=500, after=2, exact=True)
    first = poll(db_session, account.id)
    assert first["error"] and "500" in first["error"] and first["complete"] is False
    assert first["pages"] == 2 and first["retry_after"] is None
    assert len(created(first)) == 10
    assert len(stored_external_ids(db_session, account)) == 10
    row = account_row(db_session, account.id)
    cursor = Cursor.load(row.cursor_token)
    assert cursor is not None and cursor.pages == 2 and cursor.arrived == 10
    assert row.last_updated_after == SINCE and "500" in row.last_error
    third = list_calls(fake, channel)[2]           # the call that failed
    before = len(list_calls(fake, channel))
    second = poll(db_session, account.id)
    assert second["error"] is None and second["complete"] is True, second
    resumed = list_calls(fake, channel)[before]
    assert position(resumed, channel) == position(third, channel)
    assert position(resumed, channel) not in (None, 0)
    assert second["pages"] == 3 and len(created(second)) == 13
    assert sorted(created(first) + created(second)) == ids
    assert stored_external_ids(db_session, account) == ids
    row = account_row(db_session, account.id)
    assert row.cursor_token is None and row.last_error is None
    assert row.last_updated_after == cursor.until - POLL_OVERLAP


def test_a_long_retry_after_is_handed_to_the_caller(db_session, fake, shop):
    """Amazon answers 429 with Retry-After: 120 on the second page: does the poll
    stop with the first page stored, the cursor at the second, and retry_after=120
    in the summary so the caller can queue the next try?"""
    account = new_account(db_session, shop, fake, "amazon")
    fake.configure("amazon", max_page=4)
    add_fake_orders(fake, "amazon", 10)
    fake.inject("/orders/v0/orders", status=429, retry_after="120", after=1, exact=True)
    summary = poll(db_session, account.id)
    assert "429" in summary["error"] and summary["retry_after"] == 120
    assert summary["pages"] == 1 and len(stored_external_ids(db_session, account)) == 4
    assert Cursor.load(account_row(db_session, account.id).cursor_token).pages == 1


def test_a_window_longer_than_the_page_bound_goes_on_next_poll(db_session, fake, shop):
    """With at most 3 pages a poll and 8 pages of orders: does each poll store its
    pages and keep the cursor (the window stays open, the health says so), and the
    third poll finish the window with every order once?"""
    account = new_account(db_session, shop, fake, "shopify")
    fake.configure("shopify", max_page=5)
    ids = sorted(add_fake_orders(fake, "shopify", 38))
    results = [poll(db_session, account.id, max_pages=3) for _ in range(3)]
    assert [r["complete"] for r in results] == [False, False, True]
    assert [r["pages"] for r in results] == [3, 3, 2]
    assert sorted(i for r in results for i in created(r)) == ids
    assert stored_external_ids(db_session, account) == ids
    row = account_row(db_session, account.id)
    assert row.cursor_token is None and row.last_error is None
    assert row.last_updated_after > SINCE


def test_an_unreadable_cursor_reads_the_window_again(db_session, fake, shop):
    """When the stored cursor cannot be read, does the poll start the window from
    last_updated_after and take every order?"""
    account = new_account(db_session, shop, fake, "ebay")
    account.cursor_token = "not json"
    db_session.commit()
    ids = sorted(add_fake_orders(fake, "ebay", 5))
    summary = poll(db_session, account.id)
    assert summary["complete"] is True and created(summary) == ids
    assert int(list_calls(fake, "ebay")[0]["query"]["offset"]) == 0


def test_an_inactive_account_is_not_polled(db_session, fake, shop):
    """Is an inactive account skipped, with nothing asked of the platform?"""
    account = new_account(db_session, shop, fake, "temu")
    account.active = False
    db_session.commit()
    assert poll(db_session, account.id)["skipped"] == "inactive or missing"
    assert fake.requests == []
