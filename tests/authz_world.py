"""A world with something of every kind on both sides of every wall: two sellers,
two warehouses, and for each side an order on a pick list, a packed order with a
labelled parcel, a channel account with a dead letter, an inbound shipment, an
exception task, and a van with a route and a stop. The door tests (test_doors.py,
test_mutation_rules.py) try every door with their own side's ids and the other
side's."""
import copy
import hashlib
from datetime import date

from sqlalchemy import select

from server.auth.models import ApiToken
from server.allocation.services import allocate_order
from server.carriers.demo import seed_carriers
from server.channels import services as channels
from server.channels.fake_marketplace import CREDENTIALS
from server.delivery import proof
from server.delivery.models import Route, RouteStop, Vehicle
from server.orders.services import create_order
from server.warehouse import services as floor
from server.warehouse.models import Task

from .helpers import unique

SHIP_TO = {"a": {"name": "Ann Lee", "address1": "1 Main St", "city": "Los Angeles",
                 "state": "CA", "zip": "90001", "phone": "+1 213 555 0101"},
           "b": {"name": "Bo Chen", "address1": "9 Route 1", "city": "Edison", "state": "NJ",
                 "zip": "08837", "phone": "+1 732 555 0199"}}


ROUTE_DAY = date(2025, 6, 12)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class Side:
    """What one seller owns, all of it in one warehouse."""


def _order(s, seller, sku, side, user_id, quantity=1):
    order = create_order(s, seller_id=seller.id, external_id=unique(f"AUTHZ-{side}-"),
                         lines=[{"sku_id": sku.id, "quantity": quantity,
                                 "unit_price_cents": 1000}],
                         ship_to=SHIP_TO[side], user_id=user_id)
    return allocate_order(s, order.id, user_id=user_id)


def build(s, world):
    """Add to conftest's `world` what the doors need on each side; return (a, b):
    side a is seller A's goods in warehouse 1, side b seller B's in warehouse 2."""
    seed_carriers(s)
    admin = world.users["admin"]
    sides = []
    for side, seller, sku, wh, bins, user in (
            ("a", world.seller_a, world.sku_a, world.wh1, world.bins1, world.users["seller_a"]),
            ("b", world.seller_b, world.sku_b, world.wh2, world.bins2, world.users["seller_b"])):
        x = Side()
        x.seller, x.sku, x.wh, x.bins, x.user = seller, sku, wh, bins, user
        # Three units to pick: enough for each caller the rules let pick here.
        picking = _order(s, seller, sku, side, admin.id, quantity=3)
        packed = _order(s, seller, sku, side, admin.id)
        for order in (picking, packed):
            where = {a.warehouse_id for a in order.allocations if a.quantity}
            assert where == {wh.id}, f"the {side} order should ship from {wh.code}: {where}"
        x.pick_task = floor.release_wave(s, wh.id, order_ids=[picking.id], user_id=admin.id)
        x.pick_line = x.pick_task.lines[0]
        x.order = picking
        x.packed = packed
        x.account = channels.create_account(
            s, seller_id=seller.id, channel="shopify",
            account_key=unique("shop") + ".myshopify.com",
            credentials=copy.deepcopy(CREDENTIALS["shopify"]))
        x.letter = channels.dead_letter(s, x.account, {"email": f"{side}@customer.test"},
                                        "test", "test")
        x.inbound = floor.create_inbound(s, seller_id=seller.id, warehouse_id=wh.id,
                                         reference=unique("ASN-"),
                                         lines=[{"sku_id": sku.id, "quantity": 5}])
        x.task = Task(warehouse_id=wh.id, kind="exception", reason="short_pick",
                      status="open", title=f"{sku.code} short", sku_id=sku.id,
                      order_id=picking.id, data={})
        s.add(x.task)
        # A van of the warehouse with a route of ROUTE_DAY and one stop; side a's route
        # is given to driver1, who reads only routes given to it (issue #12).
        x.vehicle = Vehicle(warehouse_id=wh.id, name=unique("Van "), capacity_volume_l=9000,
                            capacity_weight_kg=900, crew=2)
        x.route = Route(warehouse_id=wh.id, date=ROUTE_DAY, vehicle=x.vehicle,
                        status="planned",
                        driver_id=world.users["driver1"].id if side == "a" else None)
        x.stop = RouteStop(warehouse_id=wh.id, date=ROUTE_DAY, sequence=1,
                           reference=unique("HC-STOP-"), address=dict(SHIP_TO[side]),
                           latitude=wh.latitude, longitude=wh.longitude, status="planned")
        x.route.stops.append(x.stop)
        s.add_all([x.vehicle, x.route])
        # A booked large-item delivery of the seller's (issue #12, item 3).
        from server.booking.services import book
        x.booking = book(s, seller_id=seller.id, item={"length_cm": 40, "width_cm": 30,
                                                       "height_cm": 20, "weight_kg": 5},
                         pickup={"warehouse_id": wh.id}, destination=dict(SHIP_TO[side]),
                         option_code="USPS_GROUND_ADVANTAGE", user_id=admin.id)
        # A proof photo: side a's uploaded by driver1 (its route), side b's by the admin.
        photo = PNG + side.encode()
        x.proof = proof.store_file(s, world.users["driver1"] if side == "a" else admin,
                                   hashlib.sha256(photo).hexdigest(), photo)
        sides.append(x)
    s.flush()
    s.commit()
    for x in sides:
        x.token_id = s.scalar(select(ApiToken.id).where(ApiToken.user_id == x.user.id))
    return sides


def pack(client, world, side) -> dict:
    """Take side's packed order through released, picked, packed as an admin: a
    labelled parcel. Returns the order as the API shows it."""
    admin = world.headers["admin"]
    for step in ("released", "picked", "packed"):
        response = client.post(f"/api/orders/{side.packed.id}/advance", headers=admin,
                               json={"status": step})
        assert response.status_code == 200, (step, response.get_json())
    order = response.get_json()
    side.shipment_id = order["shipments"][0]["id"]
    side.tracking = order["shipments"][0]["tracking_number"]
    return order
