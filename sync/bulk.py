"""Many rows in one statement, with a statement text that never changes.

On PostgreSQL, `INSERT ... SELECT ... FROM unnest(:col1, :col2, ...)`: one array
parameter per column, so the statement is compiled, converted by the driver and
planned once, whatever the number of rows (a multi-row VALUES of 500 rows has
thousands of parameters, and its own text per row count). Elsewhere (SQLite), one
executemany of a plain INSERT (or UPDATE).
"""
import json

from sqlalchemy import JSON, text
from sqlalchemy.orm import Session

_SQL: dict = {}


def _pg_type(column, dialect) -> str:
    if isinstance(column.type, JSON):
        return "TEXT"
    return column.type.compile(dialect=dialect)


def _pg_values(column, values):
    if isinstance(column.type, JSON):
        return [json.dumps(v) if v is not None else None for v in values]
    return values


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
        dialect = connection.dialect
        names = ", ".join(c.name for c in columns)
        arrays = ", ".join(f"CAST(:{c.name} AS {_pg_type(c, dialect)}[])" for c in columns)
        picked = ", ".join(f"u.{c.name}::json" if isinstance(c.type, JSON) else f"u.{c.name}"
                           for c in columns)
        sql = _SQL[key] = text(f"INSERT INTO {table.name} ({names}) SELECT {picked} "
                               f"FROM unnest({arrays}) AS u({names})")
    connection.execute(sql, {c.name: _pg_values(c, [r[c.name] for r in rows])
                             for c in columns})


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
        dialect = connection.dialect
        names = ", ".join(c.name for c in columns)
        arrays = ", ".join(f"CAST(:{c.name} AS {_pg_type(c, dialect)}[])" for c in columns)
        sets = ", ".join(f"{c.name} = u.{c.name}" for c in columns if c.name != key)
        sql = _SQL[sql_key] = text(f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) "
                                   f"AS u({names}) WHERE {table.name}.{key} = u.{key}")
    connection.execute(sql, {c.name: _pg_values(c, [r[c.name] for r in rows])
                             for c in columns})
