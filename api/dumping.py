"""The base of kb's API schemas: marshmallow's ``Schema`` with a faster ``dump``.

marshmallow serialises a value through about six calls per field (``serialize``, ``get_value``,
the accessor, ``_serialize``, ``ensure_text_type`` ...); a search answer has ~250 fields, so its
dump cost more than the JSON encoding and as much as the scoring (issue #18). ``Schema.dump`` here
does the same work with a plan made once per schema instance: a value already of the type the
field would produce (a ``str`` for a String, an ``int`` for an Integer, a list of such for a List)
is kept as it is, and any other value goes through the field's own ``_serialize``, as in
marshmallow. A schema with dump hooks or its own ``get_attribute``, and a dotted attribute, take
marshmallow's path unchanged. The answers are the same, checked against marshmallow's own dump
on generated objects for every schema of the API (``tests/api/test_dumping.py``); the schemas stay
the contract and the OpenAPI source.
"""
from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value, missing

ANY = None   # the kept types of a field that passes every value through (Raw)
NONE = type(None)
KEPT_TYPES: dict[type, frozenset] = {   # the exact field class -> the value types it returns unchanged
    fields.String: frozenset({str, NONE}),
    fields.Integer: frozenset({int, NONE}),
    fields.Float: frozenset({float, NONE}),
    fields.Boolean: frozenset({bool, NONE}),
}


def kept_types(field: fields.Field) -> frozenset | None:
    """The types whose values ``field`` returns as they are (``ANY``: all); an empty set: none known."""
    kind = type(field)
    if kind is fields.Raw:
        return ANY
    if kind in (fields.Integer, fields.Float) and field.as_string:
        return frozenset()
    return KEPT_TYPES.get(kind, frozenset())


class Step:
    """One field of the plan: where its value is read, where it is written, what is kept as is."""
    __slots__ = ("name", "attribute", "key", "field", "kept", "list_kept")

    def __init__(self, name: str, field: fields.Field):
        self.name = name
        self.attribute = field.attribute if field.attribute is not None else name
        self.key = field.data_key if field.data_key is not None else name
        self.field = field
        self.kept = kept_types(field)
        inner = field.inner if type(field) is fields.List else None
        self.list_kept = kept_types(inner) if inner is not None else frozenset()

    def serialize(self, value: Any, obj: Any) -> Any:
        kept = self.kept
        if kept is ANY or type(value) in kept:
            return value
        if type(value) is list and (self.list_kept is ANY or self.list_kept):
            list_kept, inner = self.list_kept, self.field.inner
            if list_kept is ANY:
                return list(value)
            return [each if type(each) in list_kept else inner._serialize(each, self.name, obj) for each in value]
        return self.field._serialize(value, self.name, obj)


class Schema(marshmallow.Schema):
    """marshmallow's Schema, dumped by a plan (see the module's docstring); loading is unchanged."""

    def _dump_plan(self) -> list[Step] | None:
        plan = self.__dict__.get("_kb_plan", missing)
        if plan is missing:
            plain = (not self._hooks[PRE_DUMP] and not self._hooks[POST_DUMP]
                     and type(self).get_attribute is marshmallow.Schema.get_attribute
                     and all("." not in (field.attribute or name) and field._CHECK_ATTRIBUTE
                             and type(field).serialize is fields.Field.serialize
                             and type(field).get_value is fields.Field.get_value
                             for name, field in self.dump_fields.items()))
            plan = [Step(name, field) for name, field in self.dump_fields.items()] if plain else None
            self.__dict__["_kb_plan"] = plan
        return plan

    def dump(self, obj: Any, *, many: bool | None = None):
        plan = self._dump_plan()
        if plan is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else bool(many)
        if many and obj is not None:
            return [self._dump_one(plan, each) for each in obj]
        return self._dump_one(plan, obj)

    def _dump_one(self, plan: list[Step], obj: Any) -> dict:
        result = self.dict_class()
        plain_dict = type(obj) is dict
        for step in plan:
            if plain_dict:
                value = obj.get(step.attribute, missing)
                if value is missing:   # as marshmallow's accessor: a missing key, then an attribute
                    value = getattr(obj, step.attribute, missing)
            else:
                value = get_value(obj, step.attribute, missing)
            if value is missing:
                default = step.field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            result[step.key] = step.serialize(value, obj)
        return result
