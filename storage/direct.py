"""Statements of the per-message path, compiled once per dialect and run on the driver.

A message runs about eight small statements. Through `Session.execute` each costs
~35 µs of SQLAlchemy bookkeeping (cache key, compiled-cache lookup, execution
context, result wrapping) around ~7 µs in the driver (see benchmarks/). A
`DirectStatement` keeps what SQLAlchemy would do for it, computed once: the SQL
string its dialect compiles, the bind processors of its parameters' types (JSON
encoding, UTC datetimes, SQLite's datetime strings) and the result processors of
its columns. It then runs in the session's transaction on the driver's cursor
(a unit of work's session: on the connection the unit of work begins itself),
and a driver error goes through SQLAlchemy's own handling (wrapped as
`sqlalchemy.exc.DBAPIError`, a dropped connection invalidated) as any statement's.

Two SQLAlchemy 2.0 internals are used for that (`SQLCompiler._result_columns`,
`Connection._handle_dbapi_exception`; the dependency is pinned below 2.1), and
tests/test_storage_direct.py runs both on SQLite and PostgreSQL. Statements with
expanding parameters (`IN` over a list) are refused: give each value its own name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import Connection, DateTime, Dialect, TypeDecorator
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Positional paramstyles (SQLite's qmark): the parameter names in order; else None.
    order: tuple[str, ...] | None
    defaults: Mapping[str, Any]  # bound values the statement carries itself (LIMIT 1)
    binds: tuple[tuple[str, Processor], ...]
    results: tuple[Processor | None, ...]


def _shared_datetime_processor(type_: TypeEngine[Any], dialect: Dialect, processor: Processor
                               ) -> Processor:
    """One processor, remembering its last few values, for every bind of this kind of
    datetime: a message binds the same `now` to most of its statements (and a lease's
    end or a retry's time to some), and converting an aware datetime for the driver
    (SQLite: to text) is not free."""
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    key = (dialect.name, type(type_), getattr(impl, "timezone", None))
    return _DATETIME_PROCESSORS.setdefault(key, _recent_ones_remembered(processor))


_DATETIME_PROCESSORS: dict[tuple[str, type, object], Processor] = {}
_REMEMBERED = 4


def _recent_ones_remembered(processor: Processor) -> Processor:
    recent: tuple[tuple[Any, Any], ...] = ()  # (value, converted), newest first

    def process(value: Any) -> Any:
        nonlocal recent
        seen = recent  # one read: another thread may replace it meanwhile
        for known, converted in seen:
            if known is value:
                return converted
        converted = processor(value)
        recent = ((value, converted), *seen[:_REMEMBERED - 1])
        return converted

    return process


def _is_datetime(type_: TypeEngine[Any]) -> bool:
    impl = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return isinstance(impl, DateTime)


def _connection_of(session: Session) -> tuple[Connection, Any]:
    """The connection to run on, in the session's transaction, and its driver connection.

    A unit of work hands its own (`UNIT_CONNECTION` in the session's info). Otherwise it
    is the connection `session.connection()` returns, remembered for the rest of the
    session's transaction (asking the session costs more than a small statement's SQL).
    """
    unit_connection = session.info.get(UNIT_CONNECTION)
    if unit_connection is not None:
        return unit_connection()  # type: ignore[no-any-return]
    transaction = session.get_transaction()
    remembered = session.info.get(_CONNECTION_KEY)
    if (transaction is not None and remembered is not None and remembered[0] is transaction
            and not remembered[1].invalidated):
        return remembered[1], remembered[2]
    connection = session.connection()
    driver = connection.connection.dbapi_connection
    session.info[_CONNECTION_KEY] = (session.get_transaction(), connection, driver)
    return connection, driver


_CONNECTION_KEY = "storage.direct.connection"
# In a session's info: a callable returning the (connection, driver connection) pair the
# session's unit of work runs its transaction on (storage.unit_of_work).
UNIT_CONNECTION = "storage.direct.unit_connection"


class DirectStatement:
    """A Core statement run on the DBAPI cursor of a session's connection."""

    def __init__(self, statement: ClauseElement, *, column_keys: Sequence[str] | None = None):
        """`column_keys`: for an INSERT without `.values()`, the columns its parameters name."""
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._statement.compile(dialect=dialect, column_keys=self._column_keys)
        assert isinstance(compiled, SQLCompiler)
        binds: list[tuple[str, Processor]] = []
        defaults: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError(f"{name}: expanding parameters are not supported here")
            if not bind.required:
                defaults[name] = bind.effective_value
            processor: Processor | None = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                if _is_datetime(bind.type):
                    processor = _shared_datetime_processor(bind.type, dialect, processor)
                binds.append((compiled.escaped_bind_names.get(name, name), processor))
        # The columns a SELECT or RETURNING gives back, with their types, in order.
        results = tuple(
            column[3].dialect_impl(dialect).result_processor(dialect, None)
            for column in compiled._result_columns
        )
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        return _Compiled(compiled.string, order, defaults, tuple(binds), results)

    def sent(self, session: Session, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL and the parameters running it with `params` hands the driver (for an
        EXPLAIN of the statement exactly as it runs)."""
        compiled = self._compiled(_connection_of(session)[0].dialect)
        return compiled.sql, self._parameters(compiled, params)

    @staticmethod
    def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **params} if compiled.defaults else dict(params)
        for name, processor in compiled.binds:
            values[name] = processor(values[name])
        return tuple(values[name] for name in compiled.order) if compiled.order is not None \
            else values

    def _run(self, session: Session, params: Mapping[str, Any]) -> Any:
        connection, driver = _connection_of(session)
        compiled = self._compiled(connection.dialect)
        parameters = self._parameters(compiled, params)
        cursor = driver.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            connection._handle_dbapi_exception(exc, compiled.sql, parameters, cursor, None)
        return compiled, cursor

    def execute(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; returns how many rows it changed."""
        _, cursor = self._run(session, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run it and return its first row, its values converted as SQLAlchemy would."""
        compiled, cursor = self._run(session, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else _converted(row, compiled.results)

    def all(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it and return every row, converted as `first` does."""
        compiled, cursor = self._run(session, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [_converted(row, compiled.results) for row in rows]

    def rows(self, session: Session, params: Mapping[str, Any]) -> ConvertedRows:
        """Run it and fetch every row; each is converted as `first` does when first read,
        so a caller that stops at the first row it needs converts no others."""
        compiled, cursor = self._run(session, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return ConvertedRows(rows, compiled.results)


class ConvertedRows(Sequence[tuple[Any, ...]]):
    """Fetched rows, each converted (JSON decoded, datetimes read) the first time it is read."""

    __slots__ = ("_converted", "_raw", "_results")

    def __init__(self, raw: Sequence[Sequence[Any]], results: tuple[Processor | None, ...]):
        self._raw = raw
        self._results = results
        self._converted: dict[int, tuple[Any, ...]] = {}

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._raw)))]
        if index < 0:
            index += len(self._raw)
            if index < 0:
                raise IndexError("row index out of range")
        row = self._converted.get(index)
        if row is None:
            row = self._converted[index] = _converted(self._raw[index], self._results)
        return row


def _converted(row: Sequence[Any], results: tuple[Processor | None, ...]) -> tuple[Any, ...]:
    if not results:  # no typed columns: a text() statement
        return tuple(row)
    return tuple(
        value if processor is None or value is None else processor(value)
        for value, processor in zip(row, results, strict=True)
    )
