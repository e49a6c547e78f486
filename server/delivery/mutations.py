"""What the driver's app sends, as sync mutations (../shared/design/SYNC.md):
`delivery.confirm` and `delivery.fail`. The rules are in proof.py; here their doors.

Who: the driver the stop's route is given to, and admins (the scope below refuses
any other driver before the handler runs, naming `stop_id`)."""
from sqlalchemy import select

from server.i18n import message
from sync.registry import Forbidden, Rejected, mutation

from . import proof
from .models import Route, RouteStop

DRIVERS = ("admin", "driver")


def _stop_scope(ctx, args):
    """The stop's warehouse; for a driver, the stop must be on a route given to it."""
    stop_id = args.get("stop_id")
    if not isinstance(stop_id, int) or isinstance(stop_id, bool):
        raise Rejected("stop_id", message("must be a stop's id"))
    row = ctx.session.execute(select(RouteStop.warehouse_id, Route.driver_id)
                              .outerjoin(Route, Route.id == RouteStop.route_id)
                              .where(RouteStop.id == stop_id)).first()
    if row is None:
        raise Rejected("stop_id", message("no such stop"))
    if ctx.user.role == "driver" and row.driver_id != ctx.user.id:
        raise Forbidden("stop_id", message("is not on a route given to you"))
    return {"warehouse_ids": {row.warehouse_id}}


@mutation("delivery.confirm", roles=DRIVERS, scope=_stop_scope)
def delivery_confirm(ctx, args):
    """A stop delivered: recipient_name, photo_hashes and/or signature_hash (sha256 of
    files uploaded apart), lat/lng/accuracy, at. Once per attempt: a second device
    gets `applied` with the first one's data."""
    return proof.report(ctx.session, ctx.user, args.get("stop_id"), "delivered", args,
                        ctx.at, ctx.device_id)


@mutation("delivery.fail", roles=DRIVERS, scope=_stop_scope)
def delivery_fail(ctx, args):
    """A failed attempt: reason (no_one_home, refused, wrong_address, damaged),
    photo_hash, note. Rejected after a confirm of the same attempt."""
    return proof.report(ctx.session, ctx.user, args.get("stop_id"), "failed", args,
                        ctx.at, ctx.device_id)
