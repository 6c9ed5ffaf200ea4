"""The API's schemas dump exactly what marshmallow's own dump gives (api.dumping keeps a value
that is already of the field's type, and sends every other value through the field), for every
schema of the API, on generated objects: missing keys, extra keys, None, values of the wrong
type, nested schemas and lists of them; and on real search answers."""
from __future__ import annotations

import marshmallow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields

import api  # noqa: F401  (imports every schema module through the blueprints)
from api import dumping
from api.schemas import SearchResponseSchema

SCALARS = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
                    st.booleans())


def every_schema() -> list[type[marshmallow.Schema]]:
    found, todo = [], [dumping.Schema]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda cls: (cls.__module__, cls.__name__))


def value_for(field: fields.Field, depth: int):
    if isinstance(field, fields.Nested) and depth < 2:
        one = objects(field.schema, depth + 1)
        many = field.many or field.schema.many
        return st.one_of(st.none(), st.lists(one, max_size=2)) if many else st.one_of(st.none(), one)
    if isinstance(field, fields.List):
        return st.one_of(st.none(), st.lists(value_for(field.inner, depth), max_size=3),
                         st.tuples(SCALARS, SCALARS))
    if isinstance(field, fields.Dict):
        return st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.one_of(
            st.integers(-3, 3), st.dictionaries(st.text(max_size=3), st.integers(-3, 3), max_size=2)), max_size=3))
    return SCALARS


def objects(schema: marshmallow.Schema, depth: int = 0):
    known = {field.attribute or name: value_for(field, depth) for name, field in schema.dump_fields.items()}
    return st.fixed_dictionaries({}, optional={**known, "not_a_field": SCALARS})


def outcome(dump, obj):
    try:
        return dump(obj)
    except Exception as exc:   # both paths must fail alike on a value the field cannot serialise
        return ("raised", type(exc))


def marshmallow_dump(schema, obj, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(dumping.Schema, "_dump_plan", lambda self: None)
        return outcome(schema.dump, obj)


def test_every_response_schema_is_dumped_by_the_plan():
    planned = [cls.__name__ for cls in every_schema() if cls()._dump_plan() is not None]
    assert {"SearchResponseSchema", "SearchHitSchema", "DocumentRef", "PassageDetailSchema"} <= set(planned)


@pytest.mark.parametrize("schema_class", every_schema(), ids=lambda cls: cls.__name__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_the_dump_is_marshmallows(schema_class, data, monkeypatch):
    schema = schema_class()
    obj = data.draw(objects(schema))
    # compared as text: a Float of "NaN" is nan on both sides, and nan != nan
    assert repr(outcome(schema.dump, obj)) == repr(marshmallow_dump(schema, obj, monkeypatch))


def test_many_and_objects_that_are_not_dicts(monkeypatch):
    class Hit:
        id = "a:1"
        score = 2
        tags = ("x", "y")

    schema = SearchResponseSchema()
    obj = {"query": 5, "hits": [Hit(), {"id": "b:2", "score": None}], "facets": {"tags": {"x": 1}},
           "took_ms": 3, "partial": 0}
    assert schema.dump(obj) == marshmallow_dump(schema, obj, monkeypatch)
    assert schema.dump([obj, obj], many=True) == marshmallow_dump(SearchResponseSchema(many=True), [obj, obj],
                                                                   monkeypatch)


def test_a_real_search_answer_is_the_same(app, monkeypatch):
    from index import SearchRequest
    from kb.core import KnowledgeBase

    with app.app_context():
        kb = KnowledgeBase(app.config["KB_SETTINGS"])
        response = kb.search(SearchRequest(q="science diplomacy", limit=5))
    body = {"query": "science diplomacy", "mode": "lexical", "total": response.total, "offset": 0, "limit": 5,
            "hits": response.hits, "facets": response.facets, "took_ms": response.took_ms, "partial": False,
            "syntax": response.syntax, "notice": response.notice, "next": None, "prev": None}
    schema = SearchResponseSchema()
    assert response.hits and schema.dump(body) == marshmallow_dump(schema, body, monkeypatch)
