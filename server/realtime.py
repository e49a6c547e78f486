"""Socket.IO: authenticated connections join their rooms.

Rooms: `user:<id>` always; `seller:<id>` for a seller; `warehouse:<id>` for each
warehouse of floor staff; admins join every warehouse room. Events are named
`domain.event` (stock.changed, ...) and sent after commit (see events.py).
A connection without a log-in (session cookie, or a bearer token in the
Socket.IO `auth` payload) is refused.

A connection also joins the room of the credential it was opened with:
`token:<id>` for a bearer token, `session:<user id>:<session version>` for a
cookie. Revoking the token, or ending the sessions (log-out, password change,
switching the user off: auth/services.py), closes that room after commit, and in
Haicang closing a room disconnects its members (python-socketio's own close_room
only empties it). The close goes through the Redis message queue like any event,
so each web process disconnects the members it holds: a connection ends within
moments wherever it was opened.
"""
import socketio as socketio_lib
from flask import request
from flask_login import current_user
from flask_socketio import join_room
from sqlalchemy import select
from sqlalchemy.orm import Session

from .after_commit import queue
from .events import room_for_seller, room_for_user, room_for_warehouse
from .extensions import db, socketio


def room_for_token(token_id: int) -> str:
    return f"token:{token_id}"


def room_for_session(user_id: int, session_version: int) -> str:
    return f"session:{user_id}:{session_version}"


def close_rooms_after_commit(session: Session, rooms: list[str]) -> None:
    """Disconnect every connection in `rooms`, in every process, once `session`
    commits (a rolled-back revocation closes nothing)."""
    if rooms:
        queue(session, "close_rooms", tuple(rooms))


def _disconnect_members(manager, room, namespace):
    for sid, _eio_sid in list(manager.get_participants(namespace, room)):
        manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class ClosingManager(socketio_lib.Manager):
    """One process, no message queue: closing a room disconnects its members."""

    def close_room(self, room, namespace):
        _disconnect_members(self, room, namespace or "/")
        return super().close_room(room, namespace)


class _ClosingPubSub:
    """Several processes: a close_room is published on the queue, and each process
    (the sender included) handles it here, for the members connected to it."""

    def _handle_close_room(self, message):
        _disconnect_members(self, message.get("room"), message.get("namespace") or "/")
        return super()._handle_close_room(message)


class ClosingRedisManager(_ClosingPubSub, socketio_lib.RedisManager):
    """python-socketio logs and drops a message Redis did not take; here it raises,
    so the outbox keeps the event and sends it again once Redis is back."""

    def _publish(self, data):
        for _attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                return self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as error:  # noqa: BLE001 - reconnect once, then raise
                self.connected = False
                last = error
        from .jobs.outbox import NotHandedOver
        raise NotHandedOver(f"Socket.IO message queue: {last}")


def client_manager(config):
    """The Socket.IO client manager for this configuration: in memory, or shared
    through the message queue (SOCKETIO_MESSAGE_QUEUE) on SOCKETIO_CHANNEL."""
    url = config.get("SOCKETIO_MESSAGE_QUEUE")
    channel = config["SOCKETIO_CHANNEL"]
    if not url:
        return ClosingManager()
    if url.startswith(("redis://", "rediss://")):
        return ClosingRedisManager(url, channel=channel)
    kombu = type("ClosingKombuManager", (_ClosingPubSub, socketio_lib.KombuManager), {})
    return kombu(url, channel=channel)


def _credential_from(auth):
    """(user, room of the credential) for this connection, or None. A token given
    explicitly wins over a cookie, as a bearer header does in the API."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if token:
        from .auth.services import token_for
        row = token_for(db.session, token)
        return (row.user, room_for_token(row.id)) if row is not None else None
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        return user, room_for_session(user.id, user.session_version)
    return None


def _still_valid(room: str) -> bool:
    """Whether the credential behind `room` still holds, read afresh. A revocation
    committed after the first check but before this connection joined the room
    would have closed the room without it; looking again after joining leaves no
    such gap (the room is closed only after the revocation commits)."""
    from .auth.models import ApiToken, User
    db.session.commit()  # end the transaction the first check read in (nothing to write)
    kind, _colon, rest = room.partition(":")
    if kind == "token":
        row = db.session.execute(select(ApiToken.revoked_at, User.active)
                                 .join(User, User.id == ApiToken.user_id)
                                 .where(ApiToken.id == int(rest))).first()
        return row is not None and row.revoked_at is None and row.active
    user_id, _colon, version = rest.partition(":")
    row = db.session.execute(select(User.session_version, User.active)
                             .where(User.id == int(user_id))).first()
    return row is not None and row.active and row.session_version == int(version)


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
        credential = _credential_from(auth)
        if credential is None:
            return False  # refused: the client gets a connect_error
        user, credential_room = credential
        user_id, rooms = user.id, rooms_for(user)
        for room in (*rooms, credential_room):
            join_room(room, sid=request.sid)
        if not _still_valid(credential_room):
            return False  # revoked meanwhile: refused, and out of the rooms again
        socketio.emit("session.ready", {"user_id": user_id, "rooms": rooms}, to=request.sid)
