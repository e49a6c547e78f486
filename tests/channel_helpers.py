"""What the channel tests share: a seller with SKUs in stock, accounts pointed at a
fake marketplace, the fixtures (real-shaped payloads from the platforms' docs)."""
import copy
import json
from pathlib import Path

from sqlalchemy import func, select

from server.channels import services as channels
from server.channels.fake_marketplace import CREDENTIALS
from server.inventory import services as stock
from server.inventory.models import Stock

from .helpers import make_seller, make_sku, make_warehouse, unique

FIXTURES = Path(__file__).parent / "fixtures" / "channels"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


class Shop:
    pass


def make_shop(s, *, units: int = 10, base_url: str = ""):
    """A seller, one warehouse, SKUs (each with `units` in stock) and one account per
    platform."""
    shop = Shop()
    shop.s = s
    shop.seller = make_seller(s)
    shop.wh, shop.bins = make_warehouse(s, bins=("A-01-1",))
    shop.skus = {}
    for code, price in (("WIDGET", 1999), ("GADGET", 1250), ("MUG", 1999), ("COASTER", 999),
                        ("LED", 2090), ("TAPE", 799)):
        sku = make_sku(s, shop.seller, code=unique(code + "-"), price_cents=price,
                       weight_g=300, length_mm=200, width_mm=150, height_mm=100)
        stock.receive(s, sku_id=sku.id, bin_id=shop.bins[0].id, quantity=units)
        shop.skus[code] = sku
    shop.accounts = {}
    for channel, key in (("amazon", "ATVPDKIKX0DER"), ("shopify", unique("shop") +
                                                       ".myshopify.com"),
                         ("ebay", unique("ebay_")), ("temu", unique("mall"))):
        if channel == "amazon":
            key = unique("ATVP")  # each test's marketplace id is its own
        shop.accounts[channel] = channels.create_account(
            s, seller_id=shop.seller.id, channel=channel, account_key=key,
            credentials=copy.deepcopy(CREDENTIALS[channel]), base_url=base_url)
    m = shop.skus
    maps = {"amazon": {"WIDGET-RED": [(m["WIDGET"].id, 1)], "GADGET-BLK": [(m["GADGET"].id, 1)]},
            "shopify": {"MUG-BLUE": [(m["MUG"].id, 1)],
                        "variant:44012345678999": [(m["MUG"].id, 2), (m["COASTER"].id, 1)]},
            "ebay": {"LED-STRIP-5M": [(m["LED"].id, 1)]},
            "temu": {"TAPE-CLR": [(m["TAPE"].id, 1)]}}
    for channel, mapping in maps.items():
        for channel_sku, components in mapping.items():
            channels.set_mapping(s, shop.accounts[channel], channel_sku, components)
    s.commit()
    return shop


def reserved(s, sku) -> int:
    s.expire_all()
    return int(s.scalar(select(func.coalesce(func.sum(Stock.reserved), 0))
                        .where(Stock.sku_id == sku.id)))


def amazon_raws():
    return channels.adapter("amazon").split(fixture("amazon_orders.json"))


# -- many orders on the fake marketplace (paging tests) -----------------------------

def add_fake_orders(fake, channel: str, n: int, *, first: int = 1,
                    sku: str = "PAGING-SKU") -> list[str]:
    """`n` new orders of `channel` on the fake marketplace (numbered from `first`,
    updated now); returns their external ids."""
    from server.channels.fake_marketplace import sample_orders
    ids = []
    for number in range(first, first + n):
        orders = sample_orders(number, [sku])
        if channel == "amazon":
            fake.add_amazon(*orders["amazon"])
            ids.append(orders["amazon"][0]["AmazonOrderId"])
        elif channel == "ebay":
            fake.add_ebay(orders["ebay"])
            ids.append(orders["ebay"]["orderId"])
        elif channel == "shopify":
            fake.add_shopify(orders["shopify"])
            ids.append(str(orders["shopify"]["id"]))
        else:
            fake.add_temu(orders["temu"])
            ids.append(orders["temu"]["order"]["parentOrderMap"]["parentOrderSn"])
    return ids


def stored_external_ids(s, account) -> list[str]:
    """The external id of every order row of `account`, one per row (sorted)."""
    from server.orders.models import Order
    s.expire_all()
    return sorted(s.scalars(select(Order.external_id).where(
        Order.channel == account.channel, Order.account_key == account.account_key)))
