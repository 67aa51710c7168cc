"""SQL compiled once per connection and re-run with new values: for the few statements on every request.

Compiling a queryset with joins costs the ORM far more than running it (about 0.8 ms against
0.06 ms for the authenticated-user query on SQLite). :class:`PrecompiledLookup` compiles a
queryset once per database connection, then executes the same SQL with the new key and builds
the model instances exactly as ``QuerySet.__iter__`` does (same converters, worked out once with
the SQL, same related-object population), so callers get ordinary model instances.

:class:`PrecompiledInsert` does the same for one model's INSERT (the audit row every read of a
record writes): the statement is compiled once per connection, and each row's values are
prepared by its fields as ``Model.save`` prepares them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


class _OncePerConnection:
    """What a statement keeps per database connection (and thread): worked out on first use."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _once_per_connection(self, connection: Any, make: Callable[[], Any]) -> Any:
        cache = getattr(self._local, "by_connection", None)
        if cache is None:
            cache = self._local.by_connection = {}
        key = id(connection)
        if key not in cache:
            cache[key] = make()
        return cache[key]


class PrecompiledLookup(_OncePerConnection, Generic[M]):
    def __init__(self, build: Callable[[Any], QuerySet[M]], *, key_field: str, sentinel: Any) -> None:
        """``build(key)`` returns the queryset for one key; ``sentinel`` is a valid key never used."""
        self._build = build
        self._key_field = key_field
        self._sentinel = sentinel
        super().__init__()

    def _compiled(self, alias: str):
        connection = connections[alias]
        return connection, self._once_per_connection(connection, lambda: self._compile(alias, connection))

    def _compile(self, alias: str, connection: Any) -> dict[str, Any]:
        queryset = self._build(self._sentinel)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        field = queryset.model._meta.get_field(self._key_field)
        prepared = field.get_db_prep_value(self._sentinel, connection)
        positions = [i for i, p in enumerate(params) if p == prepared]
        if len(positions) != 1:
            raise ValueError("the sentinel must appear exactly once in the compiled query")
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        columns = [s[0] for s in select[0: compiler.col_count]]
        if compiler.has_composite_fields(columns):
            raise ValueError("composite primary keys are not supported")
        return {
            "compiler": compiler,
            "sql": sql,
            "params": list(params),
            "position": positions[0],
            "field": field,
            "model": klass_info["model"],
            "init_list": [f[0].target.attname for f in select[start:end]],
            "slice": (start, end),
            "populators": get_related_populators(klass_info, select, alias),
            # What ``results_iter`` works out on every call, worked out once.
            "converters": compiler.get_converters(columns),
        }

    def get(self, key: Any, *, using: str = "default") -> M | None:
        connection, compiled = self._compiled(using)
        params = list(compiled["params"])
        params[compiled["position"]] = compiled["field"].get_db_prep_value(key, connection)
        with connection.cursor() as cursor:
            cursor.execute(compiled["sql"], params)
            rows = cursor.fetchmany(2)
        if not rows:
            return None
        start, end = compiled["slice"]
        converters = compiled["converters"]
        converted = compiled["compiler"].apply_converters(rows, converters) if converters else rows
        for row in converted:
            obj = compiled["model"].from_db(using, compiled["init_list"], row[start:end])
            for populator in compiled["populators"]:
                populator.populate(row, obj)
            return obj
        return None


class PrecompiledInsert(_OncePerConnection, Generic[M]):
    """``insert(obj)`` writes a new ``obj`` as ``obj.save(force_insert=True)`` does, with the INSERT
    compiled once per connection.

    For a model of one table whose primary key is set in Python (no value read back from the
    database). Every concrete field's value is prepared by the field (``pre_save`` then
    ``get_db_prep_save``, as ``Model.save`` does, so defaults and ``auto_now`` apply), and an error
    inside a transaction marks it for rollback as ``save`` does. While the model has ``pre_save`` or
    ``post_save`` receivers, or a value is an SQL expression, ``insert`` calls
    ``obj.save(force_insert=True)`` instead.
    """

    def __init__(self, model: type[M]) -> None:
        meta = model._meta
        if meta.parents or any(field.db_returning for field in meta.concrete_fields):
            raise ValueError(f"{meta.label}: only one table, with every value set in Python")
        self._model = model
        self._fields = list(meta.local_concrete_fields)
        super().__init__()

    def _sql(self, connection: Any, obj: M) -> str:
        def compile_insert() -> str:
            query = InsertQuery(self._model)
            query.insert_values(self._fields, [obj])
            statements = query.get_compiler(connection=connection).as_sql()
            if len(statements) != 1:
                raise ValueError(f"{self._model._meta.label}: the INSERT compiled to {len(statements)} statements")
            return statements[0][0]

        return self._once_per_connection(connection, compile_insert)

    def insert(self, obj: M, *, using: str = "default") -> M:
        if type(obj) is not self._model or not obj._state.adding:
            raise ValueError("insert takes a new instance of the model it was made for")
        values = [field.pre_save(obj, True) for field in self._fields]
        if (pre_save.has_listeners(self._model) or post_save.has_listeners(self._model)
                or any(hasattr(value, "resolve_expression") for value in values)):  # an SQL expression: its own text
            obj.save(using=using, force_insert=True)
            return obj
        connection = connections[using]
        params = [field.get_db_prep_save(value, connection) for field, value in zip(self._fields, values, strict=True)]
        sql = self._sql(connection, obj)
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(sql, params)
        obj._state.adding = False
        obj._state.db = using
        return obj


class PrecompiledValues(_OncePerConnection):
    """The rows of a ``values_list()`` queryset whose only parameters are a few keys, compiled once
    per connection and re-run with each call's keys.

    ``build(*keys)`` returns the queryset for those keys; it is compiled with ``sentinels`` (valid
    keys never used, distinct), and kept only if its parameters are exactly those sentinels, each
    once (in the ORM's order), so every value the SQL takes is one of the call's keys and nothing
    of the sentinel query's is left in it. Otherwise (another database's form of a lookup, say) :meth:`rows` runs
    ``build(*keys)`` through the ORM every time. Keys are passed as the driver takes them (a UUID,
    a list of integers for ``__any``)."""

    def __init__(self, build: Callable[..., QuerySet], *, sentinels: tuple[Any, ...]) -> None:
        self._build = build
        self._sentinels = sentinels
        super().__init__()

    def _compiled(self, alias: str) -> Any:
        connection = connections[alias]
        return connection, self._once_per_connection(connection, lambda: self._compile(alias))

    def _compile(self, alias: str) -> Any:
        """The compiled statement, or False when its parameters are not exactly the sentinels."""
        compiler = self._build(*self._sentinels).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        order = self._order(params)
        if order is None:
            return False
        columns = [s[0] for s in compiler.select[0: compiler.col_count]]
        return compiler, sql, order, compiler.get_converters(columns)

    def _order(self, params: Any) -> list[int] | None:
        """For each parameter, which sentinel it is; None unless they are the sentinels, each once."""
        order = []
        for param in params:
            matches = [i for i, s in enumerate(self._sentinels) if type(s) is type(param) and s == param]
            if len(matches) != 1:
                return None
            order.append(matches[0])
        return order if sorted(order) == list(range(len(self._sentinels))) else None

    def rows(self, *keys: Any, using: str = "default") -> list[tuple]:
        if len(keys) != len(self._sentinels):
            raise TypeError(f"expected {len(self._sentinels)} keys")
        connection, compiled = self._compiled(using)
        if not compiled:
            return list(self._build(*keys).using(using))
        compiler, sql, order, converters = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [keys[i] for i in order])
            rows = cursor.fetchall()
        return [tuple(row) for row in compiler.apply_converters(rows, converters)] if converters else rows
