"""Demo data for a first look: 2 sellers, 3 warehouses in different US states with
bins, about 50 SKUs with stock, and one user of each role. Everything goes through
the same service functions as real use, so the ledger balances from the start."""
import random

from sqlalchemy import select

from .auth.models import Seller, User
from .auth.services import create_seller, create_user
from .catalog.services import create_sku
from .extensions import db
from .inventory import services as stock
from .inventory.models import Bin
from .inventory.warehouses import create_bins, create_warehouse
from .allocation.services import allocate_order
from .carriers.demo import seed_carriers
from .catalog.models import Sku
from .orders.services import create_order

# Public (printed, and in the README), yet it passes the password check like any
# other: "haicang-demo" would not (auth/passwords.py).
DEMO_PASSWORD = "harbour-crane-42"

WAREHOUSES = [
    dict(code="LAX1", name="Ontario CA", address1="4000 E Airport Dr", city="Ontario",
         state="CA", zip="91761", latitude=34.0633, longitude=-117.6509,
         timezone="America/Los_Angeles"),
    dict(code="EWR1", name="Edison NJ", address1="100 Raritan Center Pkwy", city="Edison",
         state="NJ", zip="08837", latitude=40.5187, longitude=-74.3471,
         timezone="America/New_York"),
    dict(code="DFW1", name="Dallas TX", address1="2500 Esters Rd", city="Irving",
         state="TX", zip="75062", latitude=32.8468, longitude=-96.9750,
         timezone="America/Chicago"),
]

SELLERS = [
    ("Shenzhen Homeware Co.", "SZHOME", [
        "Ceramic Mug 350ml", "Glass Teapot 1L", "Bamboo Cutting Board", "Silicone Spatula Set",
        "Stainless Lunch Box", "Cast Iron Skillet 10in", "Knife Block Set", "Spice Rack 20 Jars",
        "Linen Table Runner", "LED Desk Lamp", "Bath Towel Set", "Memory Foam Pillow",
        "Storage Ottoman", "Folding Side Table", "Wall Clock 12in", "Ceramic Vase",
        "Shower Caddy", "Laundry Hamper", "Coffee Grinder", "Electric Kettle 1.7L",
        "Rice Cooker 3 Cup", "Desk Organizer", "Photo Frame 8x10", "Throw Blanket",
        "Accent Chair (flat-pack)"]),
    ("Yiwu Outdoor Gear", "YWOUT", [
        "Camping Lantern", "Trekking Poles Pair", "Dry Bag 20L", "Hammock Double",
        "Sleeping Bag 0C", "Tent 2-Person", "Headlamp 300lm", "Water Filter Bottle",
        "Camp Stove", "Folding Camp Chair", "Cooler Bag 30L", "Carabiner Set",
        "Rain Poncho", "Hiking Gaiters", "Fishing Rod Telescopic", "Bike Light Set",
        "Yoga Mat 6mm", "Resistance Bands", "Jump Rope", "Kayak Paddle",
        "Picnic Blanket", "Solar Power Bank", "Insulated Bottle 1L", "Binoculars 10x42",
        "Patio Umbrella 9ft"]),
]

COLORS = ["Blue", "Red", "Black", "Green", "Grey"]


def bin_codes() -> list[str]:
    """Zone-aisle-bay-level, so the codes sort in walking order."""
    return [f"{zone}-{aisle:02d}-{bay:02d}-{level}"
            for zone in "AB" for aisle in range(1, 5) for bay in range(1, 6)
            for level in range(1, 4)]


# Real ZIPs across the country, so allocation has near and far to choose from.
DEMO_DESTINATIONS = [("Ann Lee", "Los Angeles", "CA", "90012"),
                     ("Bob Smith", "New York", "NY", "10001"),
                     ("Carla Diaz", "Houston", "TX", "77002"),
                     ("Dan Brown", "Chicago", "IL", "60601"),
                     ("Eve Chen", "Seattle", "WA", "98101"),
                     ("Frank Ortiz", "Miami", "FL", "33101"),
                     ("Grace Kim", "Denver", "CO", "80202"),
                     ("Hiro Tanaka", "Boston", "MA", "02108")]


def _demo_orders(rng: random.Random, sellers) -> None:
    """A few orders per seller from each channel, allocated as they would be live:
    most allocated, some backordered, one split across warehouses."""
    from datetime import UTC, datetime, timedelta
    now = datetime.now(UTC)
    channels = ["amazon", "ebay", "shopify", "temu"]
    for seller in sellers:
        skus = db.session.scalars(select(Sku).where(Sku.seller_id == seller.id)
                                  .order_by(Sku.id)).all()
        for n in range(8):
            name, city, state, zip_ = DEMO_DESTINATIONS[(n + seller.id) % 8]
            picks = rng.sample(skus, k=1 + n % 3)
            channel = channels[n % 4]
            order = create_order(
                db.session, seller_id=seller.id, channel=channel, account_key="demo",
                external_id=f"{channel[:3].upper()}-{seller.code}-{1001 + n}",
                placed_at=now - timedelta(hours=3 * n),
                ship_by=now + timedelta(days=1 + n % 3),
                ship_to={"name": name, "address1": f"{100 + n} Market St", "city": city,
                         "state": state, "zip": zip_},
                lines=[{"sku_id": sku.id, "quantity": 1 + (n + i) % 2,
                        "unit_price_cents": sku.price_cents} for i, sku in enumerate(picks)])
            allocate_order(db.session, order.id)
        # One order larger than any stock: a backorder to look at.
        sku = skus[0]
        order = create_order(
            db.session, seller_id=seller.id, channel="shopify", account_key="demo",
            external_id=f"SHO-{seller.code}-BIG", ship_to={"name": "Ivy Park",
                                                           "city": "Portland", "state": "OR",
                                                           "zip": "97201"},
            lines=[{"sku_id": sku.id, "quantity": 500, "unit_price_cents": sku.price_cents}])
        allocate_order(db.session, order.id)


def logins() -> list[tuple[str, str, str]]:
    return [(u.role, u.email, DEMO_PASSWORD)
            for u in db.session.scalars(select(User).where(User.email.like("%@demo.haicang"))
                                        .order_by(User.id))]


def seed(rng_seed: int = 2026) -> bool:
    """Create the demo data unless it is there. Returns True if it created it."""
    if db.session.scalar(select(Seller.id).where(Seller.code == SELLERS[0][1])):
        return False
    rng = random.Random(rng_seed)
    warehouses = [create_warehouse(db.session, **w) for w in WAREHOUSES]
    for warehouse in warehouses:
        create_bins(db.session, warehouse, bin_codes())
        create_bins(db.session, warehouse, ["RECV-01", "RECV-02"], kind="receiving")
        create_bins(db.session, warehouse, ["SHIP-01"], kind="shipping")
    sellers = []
    for name, code, products in SELLERS:
        seller = create_seller(db.session, name=name, code=code)
        sellers.append(seller)
        for i, product in enumerate(products, start=1):
            big = "Chair" in product or "Umbrella" in product or "Ottoman" in product
            sku = create_sku(
                db.session, seller_id=seller.id, code=f"{code}-{i:03d}",
                name=f"{product} {rng.choice(COLORS)}" if not big else product,
                barcodes=[f"{690000000000 + seller.id * 1000 + i:012d}"],
                length_mm=rng.randint(900, 1300) if big else rng.randint(80, 450),
                width_mm=rng.randint(500, 800) if big else rng.randint(60, 300),
                height_mm=rng.randint(400, 900) if big else rng.randint(20, 250),
                weight_g=rng.randint(9000, 25000) if big else rng.randint(80, 3500),
                cost_cents=rng.randint(150, 6000), price_cents=rng.randint(999, 19999))
            price_floor = sku.cost_cents * 2
            sku.price_cents = max(sku.price_cents, price_floor)
            for warehouse in rng.sample(warehouses, k=rng.randint(1, 3)):
                bins = db.session.scalars(select(Bin).where(
                    Bin.warehouse_id == warehouse.id, Bin.kind == "storage")).all()
                for bin_ in rng.sample(bins, k=rng.randint(1, 2)):
                    stock.receive(db.session, sku_id=sku.id, bin_id=bin_.id,
                                  quantity=rng.randint(1, 60), reason="demo opening stock",
                                  reference="DEMO-OPENING")
    seed_carriers(db.session)
    db.session.flush()
    _demo_orders(rng, sellers)
    create_user(db.session, email="admin@demo.haicang", password=DEMO_PASSWORD, role="admin",
                name="Alex Admin")
    create_user(db.session, email="seller@demo.haicang", password=DEMO_PASSWORD,
                role="seller", seller=sellers[0], name="Lin Wei", locale="zh-CN")
    create_user(db.session, email="seller2@demo.haicang", password=DEMO_PASSWORD,
                role="seller", seller=sellers[1], name="Zhang Min", locale="zh-CN")
    create_user(db.session, email="picker@demo.haicang", password=DEMO_PASSWORD,
                role="picker", warehouses=[warehouses[0]], name="Maria Lopez", locale="es")
    driver = create_user(db.session, email="driver@demo.haicang", password=DEMO_PASSWORD,
                         role="driver", warehouses=[warehouses[0]], name="Sam Driver")
    db.session.flush()
    _demo_route(warehouses[0], driver)
    db.session.commit()
    return True


# Near the Ontario CA warehouse: the demo driver's stops today (own fleet).
DEMO_STOPS = [
    ("Olivia Park", "1200 N Euclid Ave", "Upland", "91786", 34.1080, -117.6510,
     "+1 909 555 0141", "Gate code 4321; leave with the front desk if out"),
    ("Marco Ruiz", "455 W Foothill Blvd", "Claremont", "91711", 34.1070, -117.7200,
     "+1 909 555 0152", ""),
    ("Mei Huang", "8800 Haven Ave", "Rancho Cucamonga", "91730", 34.0930, -117.5780,
     "+1 909 555 0163", "Call on arrival"),
    ("Tom Becker", "1500 S Grove Ave", "Ontario", "91761", 34.0470, -117.6290,
     "+1 909 555 0174", "Two flights of stairs"),
]

# Booked after the van left: waiting for the dispatcher's next plan.
LATER_STOPS = [
    ("Grace Kim", "2300 S Archibald Ave", "Ontario", "91761", 34.0290, -117.5930,
     "+1 909 555 0185", ""),
    ("Luis Ortega", "700 N Mountain Ave", "Upland", "91786", 34.1030, -117.6740,
     "+1 909 555 0196", "Side door"),
    ("Hannah Wu", "1000 W Holt Blvd", "Ontario", "91762", 34.0640, -117.6660,
     "+1 909 555 0107", ""),
]


def _demo_route(warehouse, driver) -> None:
    """Today's dispatched route for the demo driver: a few orders of LAX1 stock,
    allocated, picked and labelled for the own fleet, planned on a van and sent out
    (the same services as a dispatcher's day; planning.plan_day)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from .carriers import labels
    from .carriers.models import Parcel, Shipment
    from .delivery.services import create_vehicle, own_fleet_service
    from .i18n import message
    from .inventory.models import Stock
    from .orders import fulfilment
    from .orders.services import transition

    service = own_fleet_service(db.session)
    van = create_vehicle(db.session, warehouse, name="Van 1", plate="8HCV001",
                         capacity_volume_l=9000, capacity_weight_kg=900, crew=2,
                         shift_start="00:00", shift_end="23:59")
    # SKUs with stock in this warehouse only: the order allocates here, nowhere else.
    skus = db.session.scalars(
        select(Sku).join(Stock, Stock.sku_id == Sku.id)
        .where(Stock.warehouse_id == warehouse.id, Stock.on_hand - Stock.reserved >= 2,
               Sku.weight_g < 5000)
        .order_by(Sku.id).distinct()).all()
    day = datetime.now(ZoneInfo(warehouse.timezone)).date()  # today where the van is
    orders = []
    for n, (name, street, city, zip_, lat, lon, phone, notes) in enumerate(
            DEMO_STOPS + LATER_STOPS):
        if n == len(DEMO_STOPS):
            _send_out(warehouse, driver, day, orders)
            # A second van, and what came in after the van left: for the dispatcher
            # to plan (/dispatch).
            create_vehicle(db.session, warehouse, name="Van 2", plate="8HCV002",
                           capacity_volume_l=6000, capacity_weight_kg=600, crew=1,
                           shift_start="00:00", shift_end="23:59")
        order = None
        for sku in skus[n * 3:]:
            candidate = create_order(
                db.session, seller_id=sku.seller_id, channel="shopify", account_key="demo",
                external_id=f"SHO-VAN-{2001 + n}-{sku.id}",
                ship_to={"name": name, "address1": street, "city": city, "state": "CA",
                         "zip": zip_, "phone": phone},
                lines=[{"sku_id": sku.id, "quantity": 1, "unit_price_cents": sku.price_cents}])
            allocate_order(db.session, candidate.id)
            if candidate.status == "allocated" and all(
                    a.warehouse_id == warehouse.id for a in candidate.allocations):
                order = candidate
                break
        if order is None:
            continue
        fulfilment.release_to_floor(db.session, order)
        fulfilment.pick_order(db.session, order)
        parcels = fulfilment.parcels_for(db.session, order, list(order.allocations))
        to = {"name": name, "address1": street, "city": city, "state": "CA", "zip": zip_,
              "phone": phone, "latitude": lat, "longitude": lon, "notes": notes}
        shipment = Shipment(order_id=order.id, seller_id=order.seller_id,
                            warehouse_id=warehouse.id, service_id=service.id,
                            status="labelled", reference=f"shopify:{order.external_id}",
                            zone=1, cost_cents=0, ship_date=day, delivery_date=day,
                            ship_to=to, provider="builtin")
        db.session.add(shipment)
        db.session.flush()
        for number, p in enumerate(parcels, start=1):
            shipment.parcels.append(Parcel(
                seller_id=order.seller_id, warehouse_id=warehouse.id, number=number,
                tracking_number=labels.tracking_number_for(service, shipment.id, number),
                weight_g=p["weight_g"], length_mm=p["length_mm"], width_mm=p["width_mm"],
                height_mm=p["height_mm"], billable_weight_g=p["weight_g"], cost_cents=0))
        shipment.tracking_number = shipment.parcels[0].tracking_number
        db.session.flush()
        transition(db.session, order, "packed", message("packed and labelled"))
        orders.append(order)
    db.session.flush()
    assert van.id


def _send_out(warehouse, driver, day, orders) -> None:
    """Plan the day's own-fleet shipments so far, give the route to the driver and
    send the van out (the orders are loaded on it: shipped)."""
    from .delivery import planning
    from .delivery.services import set_route
    from .orders import fulfilment
    routes, _unassigned = planning.plan_day(db.session, warehouse, day, time_limit_s=1)
    for order in orders:
        fulfilment.ship_order(db.session, order)  # loaded on the van
    for route in routes:
        set_route(db.session, route, status="planned", driver_id=driver.id, driver_given=True)
        set_route(db.session, route, status="dispatched")
    db.session.flush()
