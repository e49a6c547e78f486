"""A new order written with two Core INSERTs instead of the unit of work.

Order intake is the busiest write of a peak day. The ORM's flush of an order and
its lines (change tracking, dependency sort, one RETURNING per table, attribute
events) costs several times the statements themselves, so a new order is written
here directly: the order row (its duplicate refused by the unique constraint, in
the same statement), then its lines in one multi-row INSERT. The session is then
handed Order and OrderLine objects that are already persistent, with every column
set, exactly as if it had loaded them: later reads, changes and flushes work as on
any loaded order.

What the unit of work would have done besides, done here: the values are checked
against their columns (validation.column_problem, as the flush guard does), the
sync change log is told of the new order, and when the transaction (or savepoint)
that wrote them rolls back, the objects leave the session, as new objects do (left
in, they would stand for rows that do not exist, and SQLite may give their ids to
the next orders).
"""
from sqlalchemy import event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.session import make_transient_to_detached

from ..errors import InvalidInput
from ..validation import column_problem
from .models import Order, OrderLine

_ORDERS, _LINES = Order.__table__, OrderLine.__table__
_ORDER_KEY = ["channel", "account_key", "external_id"]


def _complete(table, values: dict) -> dict:
    """Every column of a new row: the value given, else the column's default (what
    an INSERT would store), checked as a flush would check it."""
    row = {}
    for column in table.columns:
        if column.primary_key:
            continue
        if column.key in values:
            value = values[column.key]
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg
        elif column.default is not None and column.default.is_callable:
            value = column.default.arg(None)
        else:
            value = None
        if value is not None:
            problem = column_problem(column.type, value)
            if problem:
                raise InvalidInput(column.key, problem)
        row[column.key] = value
    return row


def insert_new_order(session: Session, values: dict, lines: list[dict]) -> Order | None:
    """INSERT the order and its lines; None (and nothing written) if an order with
    the same channel, account and external id exists. Returns the persistent
    Order, with `lines` loaded and no allocations."""
    from sync.engine import log_change
    order_row = _complete(_ORDERS, values)
    dialect = session.get_bind().dialect.name
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    connection = session.connection()
    order_id = connection.execute(
        insert_into(_ORDERS).values(order_row).on_conflict_do_nothing(
            index_elements=_ORDER_KEY).returning(_ORDERS.c.id)).scalar_one_or_none()
    if order_id is None:
        return None
    line_rows = [_complete(_LINES, dict(line, order_id=order_id)) for line in lines]
    line_ids = connection.execute(
        insert(_LINES).returning(_LINES.c.id, sort_by_parameter_order=True),
        line_rows).scalars().all()

    order = _persistent(session, Order, order_id, order_row)
    order_lines = [_persistent(session, OrderLine, line_id, row)
                   for line_id, row in zip(line_ids, line_rows)]
    for line in order_lines:
        set_committed_value(line, "order", order)
    set_committed_value(order, "lines", order_lines)
    set_committed_value(order, "allocations", [])
    log_change(session, "orders", order_id, None, order_row["seller_id"])
    return order


_ATTACHED = "haicang_orders_attached"


def _persistent(session: Session, model, row_id: int, row: dict):
    obj = model(**row)
    obj.id = row_id
    make_transient_to_detached(obj)  # as if loaded: no INSERT at the next flush
    session.add(obj)
    if isinstance(session, scoped_session):
        session = session()  # the proxy hides the transaction accessors
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_ATTACHED, []).append((obj, transaction))
    return obj


def _inside(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _expunge_rolled_back(session, previous_transaction):
    attached = session.info.get(_ATTACHED)
    if not attached:
        return
    kept = []
    for obj, transaction in attached:
        if _inside(transaction, previous_transaction):
            if obj in session:
                session.expunge(obj)
        else:
            kept.append((obj, transaction))
    session.info[_ATTACHED] = kept


@event.listens_for(Session, "after_commit")
def _forget_committed(session):
    if session.get_nested_transaction() is None:  # not a savepoint released
        session.info.pop(_ATTACHED, None)
