"""Imports every domain's models, so that Alembic and the mappers see all tables."""
from .auth.models import (ApiToken, Seller, User, seller_allowed_warehouses,  # noqa: F401
                          user_warehouses)
from .carriers.models import Carrier, CarrierService, Parcel, Shipment, ShipmentEvent  # noqa: F401
from .catalog.models import KitComponent, Sku, SkuBarcode  # noqa: F401
from .inventory.models import Bin, Reservation, Stock, StockMovement, Warehouse  # noqa: F401
from .orders.models import Order, OrderAllocation, OrderEvent, OrderLine  # noqa: F401
from .channels.models import (ChannelAccount, ChannelSkuMapping, ChannelStockPush,  # noqa: F401
                              DeadLetter, WebhookReceipt)
from .warehouse.models import InboundLine, InboundShipment, Task, TaskLine  # noqa: F401
from .jobs.models import OutboxMessage  # noqa: F401
from sync.models import SyncChange, SyncDevice, SyncMutation  # noqa: F401,E402
from .delivery.models import Route, RouteStop, Vehicle  # noqa: F401
from .notifications.models import Notification, NotificationOptOut  # noqa: F401,E402
from .customer_service import models as _customer_service  # noqa: F401,E402  indexes
