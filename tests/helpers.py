"""Helpers that make what a test needs (CTFd style: plain functions)."""
import uuid

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_seller(session, name=None):
    from server.auth.services import create_seller
    name = name or unique("Seller ")
    return create_seller(session, name=name, code=unique("S").upper())


def make_warehouse(session, code=None, zip_="91761", state="CA",
                   tz="America/Los_Angeles", lat=34.06, lon=-117.65, bins=("A-01-1",
                                                                             "A-01-2",
                                                                             "B-02-1")):
    from server.inventory.warehouses import create_bins, create_warehouse
    warehouse = create_warehouse(session, code=code or unique("W")[:8].upper(),
                                 name="Test warehouse", state=state, zip=zip_,
                                 latitude=lat, longitude=lon, timezone=tz)
    created = create_bins(session, warehouse, list(bins)) if bins else []
    return warehouse, created


def make_sku(session, seller, code=None, **attrs):
    from server.catalog.services import create_sku
    return create_sku(session, seller_id=seller.id, code=code or unique("SKU-"),
                      name=attrs.pop("name", "Test SKU"), **attrs)


def make_user(session, role="admin", seller=None, warehouses=(), email=None):
    from server.auth.services import create_user
    return create_user(session, email=email or f"{unique(role)}@test.haicang",
                       password=PASSWORD, role=role, seller=seller,
                       warehouses=list(warehouses))


def token_headers(session, user) -> dict:
    from server.auth.services import create_token
    _row, token = create_token(session, user, "test")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def login(client, email, password=PASSWORD):
    """Log in through the API the way the PWA does: CSRF token first, then POST."""
    token = client.get("/api/auth/csrf").get_json()["csrf_token"]
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       headers={"X-CSRFToken": token})


def snapshot(session):
    """What bad input must not change: every stock row and the ledger's length."""
    from sqlalchemy import func, select

    from server.catalog.models import Sku
    from server.inventory.models import Reservation, Stock, StockMovement
    session.expire_all()
    return (
        sorted(session.execute(select(Stock.id, Stock.on_hand, Stock.reserved)).all()),
        session.scalar(select(func.count()).select_from(StockMovement)),
        session.scalar(select(func.count()).select_from(Reservation)),
        sorted(session.execute(select(Sku.id, Sku.name, Sku.updated_at)).all()),
    )


