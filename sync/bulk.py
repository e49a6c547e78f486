"""Many rows in one statement, with a statement text that never changes.

On PostgreSQL, `INSERT ... SELECT ... FROM json_to_recordset(:rows)`: the rows go
as one JSON document, one parameter, so the statement is compiled, converted by
the driver and planned once, whatever the number of rows (a multi-row VALUES of 500
rows has thousands of parameters, and its own text per row count), and the rows
are encoded by the standard library's C encoder in one call (an array parameter
per column, as before, cost the driver a Python loop with a regex escape per
element: most of a sync push's CPU). Elsewhere (SQLite), one executemany of a plain
INSERT (or UPDATE).
"""
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, text
from sqlalchemy.orm import Session

_SQL: dict = {}


def _pg_type(column, dialect) -> str:
    if isinstance(column.type, JSON):
        return "json"
    return column.type.compile(dialect=dialect)


def _plain(value):
    """What json cannot encode by itself, as PostgreSQL reads it back."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go in a bulk row")


def _document(rows: list[dict]) -> str:
    return json.dumps(rows, default=_plain, separators=(",", ":"))


def _record(columns, dialect) -> str:
    return ", ".join(f"{c.name} {_pg_type(c, dialect)}" for c in columns)


def insert_rows(session: Session, table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in one statement."""
    if not rows:
        return
    connection = session.connection()
    columns = [table.c[name] for name in rows[0]]
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    key = ("insert", table.name, tuple(c.name for c in columns))
    sql = _SQL.get(key)
    if sql is None:
        names = ", ".join(c.name for c in columns)
        picked = ", ".join(f"u.{c.name}" for c in columns)
        sql = _SQL[key] = text(
            f"INSERT INTO {table.name} ({names}) SELECT {picked} FROM json_to_recordset("
            f"CAST(:rows AS json)) AS u({_record(columns, connection.dialect)})")
    connection.execute(sql, {"rows": _document(rows)})


def update_rows(session: Session, table, key: str, rows: list[dict]) -> None:
    """UPDATE `table` row by row from `rows` (each: `key` and the columns to set),
    in one statement."""
    if not rows:
        return
    connection = session.connection()
    columns = [table.c[name] for name in rows[0]]
    if connection.dialect.name != "postgresql":
        from sqlalchemy import bindparam
        connection.execute(
            table.update().where(table.c[key] == bindparam(f"b_{key}"))
            .values({c.name: bindparam(f"b_{c.name}") for c in columns if c.name != key}),
            [{f"b_{k}": v for k, v in r.items()} for r in rows])
        return
    sql_key = ("update", table.name, key, tuple(c.name for c in columns))
    sql = _SQL.get(sql_key)
    if sql is None:
        sets = ", ".join(f"{c.name} = u.{c.name}" for c in columns if c.name != key)
        sql = _SQL[sql_key] = text(
            f"UPDATE {table.name} SET {sets} FROM json_to_recordset(CAST(:rows AS json)) "
            f"AS u({_record(columns, connection.dialect)}) "
            f"WHERE {table.name}.{key} = u.{key}")
    connection.execute(sql, {"rows": _document(rows)})
