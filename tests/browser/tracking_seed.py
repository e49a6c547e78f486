"""A shipped order with a carrier timeline, for the tracking page's browser test:
`DATABASE_URL=sqlite:///... python -m tests.browser.tracking_seed` on the live
server's database (seeded with the demo) prints {"token", "number", "tracking",
"zip", "est"} as JSON.

The real flow: create and allocate an order of a demo seller, release, pick, pack
(labelled from the built-in rate cards), ship; then the label counts as bought
through the aggregator and tracker updates arrive through
carriers.tracking.record_tracker_update, as its webhook delivers them.
"""
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

SHIP_TO = {"name": "Browser Customer", "address1": "1600 Sunset Blvd",
           "city": "Los Angeles", "state": "CA", "zip": "90026", "phone": "+1 323 555 0142"}


def main() -> None:
    from sqlalchemy import select

    from server import create_app
    from server.allocation.services import allocate_order
    from server.carriers import tracking
    from server.catalog.models import Sku
    from server.extensions import db
    from server.orders import fulfilment
    from server.orders.services import create_order

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
                      "AUTO_MIGRATE": False, "REDIS_URL": None, "RQ_INLINE": True})
    with app.app_context():
        s = db.session
        number = f"TRK-{uuid.uuid4().hex[:8].upper()}"
        for sku in s.scalars(select(Sku).where(Sku.active).order_by(Sku.weight_g, Sku.id)):
            order = create_order(s, seller_id=sku.seller_id, external_id=number,
                                 channel="shopify", ship_to=SHIP_TO,
                                 lines=[{"sku_id": sku.id, "quantity": 1,
                                         "unit_price_cents": 1999}])
            allocate_order(s, order.id)
            s.commit()
            if order.status == "allocated":
                break
            number = f"TRK-{uuid.uuid4().hex[:8].upper()}"
        else:
            raise SystemExit("no SKU of the demo could be allocated")
        for step in ("released", "picked", "packed", "shipped"):
            fulfilment.STEPS[step](s, order)
            s.commit()
        shipment = order.shipments[0]
        shipment.provider = "easypost"
        s.commit()
        now = datetime.now(UTC).replace(microsecond=0)
        est = (now + timedelta(days=2)).date()

        def at(hours):
            return (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        details = [
            ("in_transit", at(-30), "Departed facility", "Ontario", "CA"),
            ("in_transit", at(-20), ("Arrived at destination facility, sorting complete for "
                                     "local delivery route assignment"), "Los Angeles", "CA"),
            ("out_for_delivery", at(-1), "Out for delivery", "Los Angeles", "CA"),
        ]
        tracking.record_tracker_update(s, "easypost", {
            "tracking_code": shipment.tracking_number,
            "est_delivery_date": f"{est.isoformat()}T00:00:00Z",
            "tracking_details": [{"status": st, "datetime": when, "message": msg,
                                  "tracking_location": {"city": city, "state": state}}
                                 for st, when, msg, city, state in details]}, "webhook")
        s.commit()
        print(json.dumps({"token": order.tracking_token, "number": number,
                          "tracking": shipment.tracking_number, "zip": SHIP_TO["zip"],
                          "est": est.isoformat()}))


if __name__ == "__main__":
    main()
