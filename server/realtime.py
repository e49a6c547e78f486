"""Socket.IO: authenticated connections join their rooms.

Rooms: `user:<id>` always; `seller:<id>` for a seller; `warehouse:<id>` for each
warehouse of floor staff; admins join every warehouse room. Events are named
`domain.event` (stock.changed, ...) and sent after commit (see events.py).
A connection without a log-in (session cookie, or a bearer token in the
Socket.IO `auth` payload) is refused.
"""
from flask import request
from flask_login import current_user
from flask_socketio import join_room
from sqlalchemy import select

from .events import room_for_seller, room_for_user, room_for_warehouse
from .extensions import db, socketio


def _user_from(auth):
    # A token given explicitly wins over a cookie, as a bearer header does in the API.
    token = auth.get("token") if isinstance(auth, dict) else None
    if token:
        from .auth.services import user_for_token
        return user_for_token(db.session, token)
    return current_user if current_user.is_authenticated else None


def rooms_for(user) -> list[str]:
    from .inventory.models import Warehouse
    rooms = [room_for_user(user.id)]
    if user.role == "seller" and user.seller_id:
        rooms.append(room_for_seller(user.seller_id))
    if user.role == "admin":
        ids = db.session.scalars(select(Warehouse.id)).all()
    else:
        ids = user.warehouse_ids
    rooms.extend(room_for_warehouse(i) for i in ids)
    return rooms


def init_app(app):
    @socketio.on("connect")
    def connect(auth=None):
        user = _user_from(auth)
        if user is None:
            return False  # refused: the client gets a connect_error
        rooms = rooms_for(user)
        for room in rooms:
            join_room(room, sid=request.sid)
        socketio.emit("session.ready", {"user_id": user.id, "rooms": rooms}, to=request.sid)
