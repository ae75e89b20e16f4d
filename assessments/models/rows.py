"""Single-row writes of the autosave, written once and run with new values.

A model's ``save(update_fields=...)`` compiles its UPDATE on every call, and
django-simple-history builds a historical model instance and saves it through
the ORM in a signal. On the autosave, run on every pause in typing, that work
cost more than PostgreSQL spent on the statements. These keep the statements'
text fixed per table and database, take table and column names from the
models' metadata, and prepare every value with its own field's
``get_db_prep_save``, so what is stored is exactly what the ORM would store.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


class RowUpdate:
    """``UPDATE <table> SET <fields> WHERE <pk> = %s`` for a fixed set of fields."""

    def __init__(self, model: type[Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields: tuple[Field[Any, Any], ...] = tuple(
            model._meta.get_field(name)  # type: ignore[misc]
            for name in fields
        )
        self._local = threading.local()

    def run(
        self, pk: Any, values: Mapping[str, Any], *, using: str = DEFAULT_DB_ALIAS
    ) -> int:
        """Write `values` (by field name; every field given) to row `pk`."""
        connection = connections[using]
        params = [f.get_db_prep_save(values[f.name], connection) for f in self.fields]
        params.append(pk)
        with connection.cursor() as cursor:
            cursor.execute(self._sql(using), params)
            return cursor.rowcount

    def _sql(self, using: str) -> str:
        cache: dict[str, str] = self._local.__dict__.setdefault("sql", {})
        if using not in cache:
            quote = connections[using].ops.quote_name
            meta = self.model._meta
            columns = ", ".join(f"{quote(f.column)} = %s" for f in self.fields)
            # Names from the models' metadata, quoted; values are parameters.
            cache[using] = (
                f"UPDATE {quote(meta.db_table)} SET {columns} "  # noqa: S608
                f"WHERE {quote(meta.pk.column)} = %s"  # type: ignore[union-attr]
            )
        return cache[using]


class HistoryCopy:
    """A django-simple-history row made from the stored row in one statement.

    ``INSERT INTO <historical table> (tracked..., history_*) SELECT tracked...,
    %s, ... FROM <table> WHERE pk = %s``: the tracked columns are the ones the
    historical model has (the model's fields minus its ``excluded_fields``), so
    the copy holds what simple-history's own ``post_save`` would have written,
    including columns the caller never read (quotes).
    """

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._local = threading.local()

    def record(
        self,
        pk: Any,
        *,
        history_type: str,
        user_pk: int | None,
        when: Any,
        reason: str | None = None,
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        connection = connections[using]
        date = self._history._meta.get_field("history_date")
        params = [
            date.get_db_prep_save(when, connection),
            reason,
            history_type,
            user_pk,
            pk,
        ]
        with connection.cursor() as cursor:
            cursor.execute(self._sql(using), params)

    @cached_property
    def _history(self) -> Any:
        # simple-history's `Model.history` builds a manager class on every
        # access; the historical model behind it is fixed. Looked up on first
        # use: simple-history attaches it once the apps are ready.
        return self.model.history.model  # type: ignore[attr-defined]

    def _sql(self, using: str) -> str:
        cache: dict[str, str] = self._local.__dict__.setdefault("sql", {})
        if using not in cache:
            quote = connections[using].ops.quote_name
            meta = self.model._meta
            history = self._history._meta
            names = {f.attname for f in history.concrete_fields}
            tracked = [f for f in meta.concrete_fields if f.attname in names]
            targets = [quote(history.get_field(f.name).column) for f in tracked]
            sources = [quote(f.column) for f in tracked]
            marks = [
                quote(history.get_field(name).column)
                for name in (
                    "history_date",
                    "history_change_reason",
                    "history_type",
                    "history_user",
                )
            ]
            cache[using] = (
                f"INSERT INTO {quote(history.db_table)} "  # noqa: S608
                f"({', '.join(targets + marks)}) "
                f"SELECT {', '.join(sources)}, %s, %s, %s, %s "
                f"FROM {quote(meta.db_table)} "
                f"WHERE {quote(meta.pk.column)} = %s"  # type: ignore[union-attr]
            )
        return cache[using]
