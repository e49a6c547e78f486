"""Orders for the browser tests, made through the API as an admin would make them.

The demo seeder may already hold orders (allocated, backordered, one split across
warehouses); whatever it lacks for a seller is created here, so the tests work
either way. `call(method, path, body)` is any authenticated JSON caller (a
Playwright request context with the CSRF header, a bearer token...).
"""
import itertools
import uuid

# Real ZIPs, spread over the country, with the city and state the cards show.
SHIP_TO = [
    {"name": "Ava Johnson", "city": "Austin", "state": "TX", "zip": "78701"},
    {"name": "Liam Chen", "city": "Seattle", "state": "WA", "zip": "98101"},
    {"name": "Sofia Garcia", "city": "Miami", "state": "FL", "zip": "33101"},
    {"name": "Noah Smith", "city": "Chicago", "state": "IL", "zip": "60601"},
    {"name": "Mia Brown", "city": "Denver", "state": "CO", "zip": "80202"},
]
_ship_to = itertools.cycle(SHIP_TO)


def all_pages(call, path):
    items, after = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = call("GET", f"{path}{sep}limit=200" + (f"&after={after}" if after else ""))
        items += page["items"]
        after = page["next_cursor"]
        if not after:
            return items


def available_by_sku(call, seller_id):
    """{sku_id: {warehouse_id: available units}} for the seller's SKUs."""
    free = {}
    for row in all_pages(call, "/api/stock"):
        if row["seller_id"] != seller_id or row["available"] <= 0:
            continue
        per = free.setdefault(row["sku_id"], {})
        per[row["warehouse_id"]] = per.get(row["warehouse_id"], 0) + row["available"]
    return free


def make_order(call, seller_id, lines, prefix="T", channel="shopify", ship_to=None):
    """POST /api/orders (allocated at once); returns the created order."""
    body = {"seller_id": seller_id, "external_id": f"{prefix}-{uuid.uuid4().hex[:8].upper()}",
            "channel": channel, "ship_to": dict(ship_to or next(_ship_to)),
            "lines": [{"sku_id": s, "quantity": q, "unit_price_cents": p} for s, q, p in lines]}
    return call("POST", "/api/orders", body)


def ensure_orders(call, seller_id):
    """The seller has at least one allocated, one backordered and one split order
    (created if missing); returns {"allocated": order, "backordered": ..., "split": ...}
    summaries as GET /api/orders gives them."""
    orders = [o for o in all_pages(call, f"/api/orders?seller_id={seller_id}")]
    found = {}
    for order in orders:
        if order["status"] == "allocated" and len(order["warehouses"]) > 1:
            found.setdefault("split", order)
        elif order["status"] in ("allocated", "backordered"):
            found.setdefault(order["status"], order)
    free = available_by_sku(call, seller_id)
    if "allocated" not in found:
        sku = next(s for s, per in free.items() if max(per.values()) >= 2)
        found["allocated"] = make_order(call, seller_id, [(sku, 1, 2599)], channel="amazon")
        free = available_by_sku(call, seller_id)
    if "backordered" not in found:
        sku, per = next(iter(free.items()))
        found["backordered"] = make_order(call, seller_id,
                                          [(sku, sum(per.values()) + 3, 1299)], channel="ebay")
        free = available_by_sku(call, seller_id)
    if "split" not in found:
        # Two SKUs that no single warehouse holds together.
        pair = next(((a, b) for a, b in itertools.combinations(free, 2)
                     if not set(free[a]) & set(free[b])), None)
        if pair:
            found["split"] = make_order(call, seller_id, [(pair[0], 1, 3499), (pair[1], 1, 1999)],
                                        channel="temu")
    return found
