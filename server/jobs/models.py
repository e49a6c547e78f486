"""The outbox: jobs and events a change causes, stored in the change's own
transaction (ARCHITECTURE.md, "side effects are data until commit").

A row is written by the same COMMIT as the stock movement or order event that
caused it, so a crash or a Redis outage between the commit and the hand-over
loses nothing: the relay (server/jobs/outbox.py) hands every unsent row to RQ or
Socket.IO, retrying until they take it, and marks it sent."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    # job (payload: func, args), event (name, payload, rooms), close_rooms (rooms)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # Not before this time (a debounce, a platform's Retry-After, a backoff).
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # A relay that claimed the row holds it until then; a relay that died lets go.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Given up on (an inline job that failed every retry): kept for a person to see.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The relay's scan: only rows still to hand over, by when they are due.
        Index("ix_outbox_pending", "available_at", "id",
              postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
              sqlite_where=text("sent_at IS NULL AND failed_at IS NULL")),
    )
