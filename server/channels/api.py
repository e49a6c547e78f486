"""Channels: accounts (credentials never returned), SKU mappings, held orders and
their release, dead letters and their replay, imports, and the Shopify webhook."""
import json

from flask import request
from flask_smorest import Blueprint

from ..api import keyset_page, page_schema, roles_required, signed_webhook
from ..auth.scoping import get_scoped, owning_seller_id, principal, scoped
from ..errors import InvalidInput
from ..i18n import message
from ..extensions import db
from ..jobs import later, run_deferred
from ..orders.models import Order
from ..orders.schemas import OrderSchema
from . import jobs, services
from .models import ChannelAccount, DeadLetter
from .schemas import (
    AccountSchema,
    AccountUpdateSchema,
    DeadLetterQueryArgs,
    DeadLetterSchema,
    ExceptionSchema,
    ImportArgs,
    MappingArgs,
    MappingSchema,
    ReleaseHeldArgs,
    ResultSchema,
)

blp = Blueprint("channels", __name__, url_prefix="/api/channels",
                description="Marketplace accounts, SKU mappings, exceptions, dead letters")


def _account(account_id) -> ChannelAccount:
    return get_scoped(ChannelAccount, account_id, what="account")


@blp.route("/accounts")
@roles_required("admin", "seller")
@blp.response(200, AccountSchema(many=True))
def list_accounts():
    """Channel accounts with their health: last poll, last error, open dead letters."""
    return db.session.scalars(scoped(ChannelAccount).order_by(ChannelAccount.id)).all()


@blp.route("/accounts", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(AccountSchema)
@blp.response(201, AccountSchema)
def create_account(args):
    args["seller_id"] = owning_seller_id(args.get("seller_id"))
    account = services.create_account(db.session, **args)
    db.session.commit()
    return account


@blp.route("/accounts/<int:account_id>", methods=["PATCH"])
@roles_required("admin", "seller")
@blp.arguments(AccountUpdateSchema)
@blp.response(200, AccountSchema)
def update_account(args, account_id):
    account = _account(account_id)
    for key, value in args.items():
        setattr(account, key, value.rstrip("/") if key == "base_url" else value)
    db.session.commit()
    return account


@blp.route("/accounts/<int:account_id>/mappings")
@roles_required("admin", "seller")
@blp.response(200, MappingSchema(many=True))
def list_mappings(account_id):
    account = _account(account_id)
    found = services.components_for(db.session, account)
    return [{"channel_sku": sku, "components": [{"sku_id": s, "quantity": q} for s, q in c]}
            for sku, c in sorted(found.items())]


@blp.route("/accounts/<int:account_id>/mappings", methods=["PUT"])
@roles_required("admin", "seller")
@blp.arguments(MappingArgs)
@blp.response(200, MappingSchema)
def set_mapping(args, account_id):
    """Map a channel SKU to one SKU, or to several units of one or more (a multipack,
    a bundle). Held orders are not released by this: release them (one action)."""
    account = _account(account_id)
    rows = services.set_mapping(db.session, account, args["channel_sku"],
                                [(c["sku_id"], c["quantity"]) for c in args["components"]])
    db.session.commit()
    return {"channel_sku": args["channel_sku"],
            "components": [{"sku_id": r.sku_id, "quantity": r.quantity} for r in rows]}


@blp.route("/accounts/<int:account_id>/poll", methods=["POST"])
@roles_required("admin", "seller")
@blp.response(202, AccountSchema)
def poll(account_id):
    """Poll this account now (queued)."""
    account = _account(account_id)
    later(db.session, jobs.poll_account, account.id)
    db.session.commit()
    run_deferred()  # handed to RQ now; inline, the poll runs before the answer
    return _account(account_id)


@blp.route("/exceptions")
@roles_required("admin", "seller")
@blp.response(200, ExceptionSchema(many=True))
def list_exceptions():
    """Held orders and what holds them (an unmapped channel SKU, an address)."""
    return db.session.scalars(scoped(Order).where(Order.status == "held")
                              .order_by(Order.id)).all()


@blp.route("/orders/<int:order_id>/release", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(ReleaseHeldArgs)
@blp.response(200, OrderSchema)
def release(args, order_id):
    """Release a held order once its cause is fixed: its channel SKUs are resolved
    again, then it is allocated. 409 with what is still wrong otherwise."""
    order = get_scoped(Order, order_id, what="order")
    services.release_order(db.session, order, ship_to=args.get("ship_to"),
                           user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/dead-letters")
@roles_required("admin", "seller")
@blp.arguments(DeadLetterQueryArgs, location="query")
@blp.response(200, page_schema(DeadLetterSchema, "DeadLetterPage"))
def list_dead_letters(args):
    """Payloads that could not be read, newest first, with the reason."""
    stmt = scoped(DeadLetter)
    if args["account_id"] is not None:
        stmt = stmt.where(DeadLetter.account_id == args["account_id"])
    if args["open"] is not None:
        stmt = stmt.where(DeadLetter.replayed_at.is_(None) if args["open"]
                          else DeadLetter.replayed_at.is_not(None))
    return keyset_page(stmt, DeadLetter.id, args, descending=True)


@blp.route("/dead-letters/<int:letter_id>/replay", methods=["POST"])
@roles_required("admin", "seller")
@blp.response(200, ResultSchema)
def replay(letter_id):
    """Read a dead letter again once its cause is fixed (a mapping, a bug fix)."""
    letter = get_scoped(DeadLetter, letter_id, what="dead_letter")
    return services.replay_dead_letter(db.session, letter, user_id=principal().id).to_dict()


@blp.route("/import", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(ImportArgs)
@blp.response(200, ResultSchema(many=True))
def import_payload(args):
    """Import the platform's response bodies (as the CLI does): each order created,
    updated or dead-lettered, with its Haicang id."""
    account = _account(args["account_id"])
    document = args["document"]
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            raise InvalidInput("document", message("is not JSON")) from None
    return [r.to_dict() for r in services.import_document(
        db.session, account, document, source="api-import", user_id=principal().id)]


@blp.route("/shopify/<int:account_id>/webhook", methods=["POST"])
@signed_webhook
@blp.response(200)
def shopify_webhook(account_id):
    """A Shopify webhook (orders/create, orders/updated, orders/cancelled): verified by
    X-Shopify-Hmac-Sha256 over the raw body (401, nothing stored, if wrong), kept
    once per X-Shopify-Webhook-Id, answered at once; the work is a queued job."""
    from .adapters.shopify import verify
    body = request.get_data(cache=False)
    account = db.session.get(ChannelAccount, account_id)
    secret = ((account.credentials or {}).get("webhook_secret")
              or (account.credentials or {}).get("api_secret")) if account else None
    if account is None or account.channel != "shopify" or not account.active or \
            not verify(body, secret, request.headers.get("X-Shopify-Hmac-Sha256")):
        db.session.rollback()
        return {"error": "unauthorized", "message": "bad or missing HMAC",
                "fields": {"X-Shopify-Hmac-Sha256": ["does not match"]}}, 401
    webhook_id = request.headers.get("X-Shopify-Webhook-Id") or \
        request.headers.get("X-Shopify-Event-Id") or ""
    if not webhook_id:
        raise InvalidInput("X-Shopify-Webhook-Id", message("is required"))
    topic = request.headers.get("X-Shopify-Topic", "")
    receipt = jobs.receive_webhook(account, webhook_id, topic,
                                   body.decode("utf-8", errors="replace"))
    if receipt is None:
        db.session.rollback()
        return {"status": "duplicate", "webhook_id": webhook_id}
    receipt_id = receipt.id
    later(db.session, jobs.process_webhook, receipt_id)  # stored with the receipt
    db.session.commit()
    return {"status": "accepted", "webhook_id": webhook_id, "receipt_id": receipt_id}

