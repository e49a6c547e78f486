"""One adapter per platform. Each module offers the same functions:

- parse(raw) -> NormalisedOrder: one order as the platform documents it (for the
  platforms whose order comes from several calls, `raw` holds each call's part);
- split(document) -> [raw]: a file of the platform's response bodies, per order;
- fetch(account, since, until) -> iterator of raw: the polling calls;
- push_tracking(account, order, shipments) and push_quantities(account, {sku: n}).
"""
from importlib import import_module

NAMES = ("amazon", "ebay", "shopify", "temu")


def adapter(channel: str):
    if channel not in NAMES:
        raise KeyError(channel)
    return import_module(f"{__name__}.{channel}")
