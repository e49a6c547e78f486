"""Imports every domain's models, so that Alembic and the mappers see all tables."""
from .auth.models import ApiToken, Seller, User, user_warehouses  # noqa: F401
from .catalog.models import Sku, SkuBarcode  # noqa: F401
from .inventory.models import Bin, Reservation, Stock, StockMovement, Warehouse  # noqa: F401
