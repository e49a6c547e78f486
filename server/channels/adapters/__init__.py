"""One adapter per platform. Each module offers the same functions:

- parse(raw) -> NormalisedOrder: one order as the platform documents it (for the
  platforms whose order comes from several calls, `raw` holds each call's part);
- split(document) -> [raw]: a file of the platform's response bodies, per order;
- page(account, since, until, at=None, *, size=None) -> paging.Page: one answer of
  the platform's order list, as its own paging says (`at`: where it starts, from
  the previous Page.next; `size`: the page size to ask, capped at MAX_PAGE);
  paging.poll walks these pages;
- fetch(account, since, until) -> iterator of raw: every order of a window, the
  pages read in one go (paging.fetch_pages);
- push_tracking(account, order, shipments) and push_quantities(account, {sku: n}).
"""
from importlib import import_module

NAMES = ("amazon", "ebay", "shopify", "temu")


def adapter(channel: str):
    if channel not in NAMES:
        raise KeyError(channel)
    return import_module(f"{__name__}.{channel}")
