"""A queryset compiled once per process and thread, run again with new values.

Django compiles a queryset to SQL on every evaluation. On the autosave's hot
path the access check and row lock is one query whose compilation (joins,
subqueries, a hundred columns) cost about five of its seven milliseconds on
our 2-core machine, more than PostgreSQL spent planning and running it. This
keeps the ORM as the only author of the SQL and of the model instances it
yields (select_related and deferred fields included) and skips only the
repeated compile.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # not in the stubs
    get_related_populators,
)
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # (position in params, index of the placeholder, how to prepare a value)
    slots: tuple[tuple[int, int, Callable[[Any], Any]], ...]
    compiler: Any


class PreparedQuery(Generic[M]):
    """`factory(*placeholders)` builds the queryset; `first` or `all` runs it.

    Placeholders are distinctive values (an impossible id, a fixed UUID) that
    the compiled parameters are searched for; each must appear there, so a
    changed queryset fails loudly rather than running with a stale value.
    """

    def __init__(
        self, factory: Callable[..., QuerySet[M]], placeholders: Sequence[Any]
    ) -> None:
        self.factory = factory
        self.placeholders = tuple(placeholders)
        self._local = threading.local()

    def first(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> M | None:
        rows = self._rows(values, using, one=True)
        return rows[0] if rows else None

    def all(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        return self._rows(values, using, one=False)

    def tuples(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        """The rows of a ``values_list`` queryset, converted as Django would
        (JSON decoded, decimals and dates made), without model instances."""
        compiled = self._compiled(using)
        return [tuple(row) for row in self._converted(compiled, values, using, False)]

    def _rows(self, values: tuple[Any, ...], using: str, *, one: bool) -> list[M]:
        compiled = self._compiled(using)
        return [
            self._instance(compiled.compiler, row, using)
            for row in self._converted(compiled, values, using, one)
        ]

    @staticmethod
    def _converted(
        compiled: _Compiled, values: tuple[Any, ...], using: str, one: bool
    ) -> list[Sequence[Any]]:
        connection = connections[using]
        if compiled.compiler.query.select_for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, index, prepare in compiled.slots:
            params[position] = prepare(values[index])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = [cursor.fetchone()] if one else cursor.fetchall()
        rows = [row for row in rows if row is not None]
        # Converters are looked up once for all rows, not once per row.
        return list(compiled.compiler.results_iter(results=[rows])) if rows else []

    def _compiled(self, using: str) -> _Compiled:
        # Per thread: a compiler holds the connection it was made with.
        cache: dict[str, _Compiled] = self._local.__dict__.setdefault("cache", {})
        if using not in cache:
            queryset = self.factory(*self.placeholders)
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            cache[using] = _Compiled(sql, tuple(params), self._slots(params), compiler)
        return cache[using]

    def _slots(
        self, params: Sequence[Any]
    ) -> tuple[tuple[int, int, Callable[[Any], Any]], ...]:
        slots = []
        for index, placeholder in enumerate(self.placeholders):
            found = [
                (position, index, prepare)
                for position, param in enumerate(params)
                if (prepare := _preparer(placeholder, param)) is not None
            ]
            if not found:
                raise ValueError(f"placeholder {placeholder!r} is not in the query")
            slots += found
        return tuple(slots)

    @staticmethod
    def _instance(compiler: Any, row: Sequence[Any], using: str) -> M:
        # As django.db.models.query.ModelIterable does for each converted row.
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [f[0].target.attname for f in select[start:end]]
        instance: M = klass_info["model"].from_db(using, names, row[start:end])
        for populator in get_related_populators(klass_info, select, using):
            populator.populate(row, instance)
        return instance


def _preparer(placeholder: Any, param: Any) -> Callable[[Any], Any] | None:
    """How a value takes the placeholder's place, or None if `param` is not it."""
    if type(param) is type(placeholder) and param == placeholder:
        if isinstance(placeholder, uuid.UUID):
            return _as_uuid
        return lambda value: value
    if isinstance(placeholder, uuid.UUID) and param == placeholder.hex:
        return lambda value: _as_uuid(value).hex  # databases without a UUID type
    return None


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
