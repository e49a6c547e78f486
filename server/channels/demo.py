"""The demo's live orders: a fake marketplace in the server process streams new
Amazon, eBay, Shopify and Temu orders for the first demo seller, and a background
thread polls them in, as the RQ scheduler would with Redis. A new user watching the
order screen sees orders arrive, get allocated, and (when stock is short) wait."""
import logging
import threading

from sqlalchemy import select

from ..catalog.models import Sku
from ..extensions import db
from .fake_marketplace import CREDENTIALS, FakeMarketplace, sample_orders
from .models import ChannelAccount
from .services import create_account

log = logging.getLogger(__name__)


def _accounts(seller_id: int, url: str) -> None:
    """One account per platform for the seller, pointing at this run's fake."""
    for channel, credentials in CREDENTIALS.items():
        key = f"demo-{channel}"
        account = db.session.scalar(select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.account_key == key))
        if account is None:
            create_account(db.session, seller_id=seller_id, channel=channel, account_key=key,
                           name=f"Demo {channel.title()} shop", credentials=credentials,
                           base_url=url)
        else:  # the fake listens on a new port each run
            account.base_url, account.active = url, True
    db.session.commit()


class Stream:
    """A running demo stream: `url` of its fake marketplace; `stop()` ends it and
    waits for the thread, so nothing of it outlives its caller."""

    def __init__(self, url: str, thread: threading.Thread, stop: threading.Event):
        self.url, self._thread, self._stop = url, thread, stop

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start_stream(app, seller_code: str, every: float) -> Stream:
    """Start the fake marketplace and the stream of orders from it."""
    stop = threading.Event()
    from .jobs import flush_stock_pushes, poll_all
    fake = FakeMarketplace(page_size=50).start()
    with app.app_context():
        from ..auth.models import Seller
        seller = db.session.scalar(select(Seller).where(Seller.code == seller_code))
        # Channel SKUs equal to the seller's SKU codes map by themselves.
        skus = db.session.scalars(select(Sku.code).where(Sku.seller_id == seller.id)
                                  .order_by(Sku.id).limit(6)).all()
        _accounts(seller.id, fake.url)

    def stream():
        n = 0
        while not stop.is_set():
            n += 1
            orders = sample_orders(n, skus)
            # One platform at a time, so orders trickle in rather than land in fours.
            channel = ("shopify", "amazon", "ebay", "temu")[n % 4]
            if channel == "amazon":
                fake.add_amazon(*orders["amazon"])
            else:
                getattr(fake, f"add_{channel}")(orders[channel])
            with app.app_context():
                try:
                    poll_all()
                    flush_stock_pushes()
                except Exception:  # noqa: BLE001 - the demo goes on
                    log.exception("demo stream poll failed")
                finally:
                    db.session.remove()
            stop.wait(every)
        fake.stop()

    thread = threading.Thread(target=stream, name="demo-order-stream", daemon=True)
    thread.start()
    return Stream(fake.url, thread, stop)
