"""Every JSON answer goes through orjson (api.json_provider), and is the JSON Flask wrote before:
compact, keys in the order given, Flask's forms for dates and Decimals; UTF-8 text as it is; what
orjson cannot encode (an integer past 64 bits) still answers, through Flask's encoder."""
from __future__ import annotations

import datetime
import decimal
import json

from flask import jsonify

from api import create_app


def test_answers_are_compact_utf8_json_in_the_given_order(app):
    with app.test_request_context():
        body = jsonify({"z": "Zürich — 北京", "a": [1, 2.5, None, True]}).get_data()
    assert body == '{"z":"Zürich — 北京","a":[1,2.5,null,true]}\n'.encode()


def test_what_orjson_leaves_is_encoded_as_flask_does(app):
    moment = datetime.datetime(2026, 12, 3, 5, 0, tzinfo=datetime.timezone.utc)
    value = {"when": moment, "day": datetime.date(2026, 12, 3), "price": decimal.Decimal("1.50"),
             "big": 2 ** 70}
    with app.test_request_context():
        got = json.loads(jsonify(value).get_data())
    assert got == {"when": "Thu, 03 Dec 2026 05:00:00 GMT", "day": "Thu, 03 Dec 2026 00:00:00 GMT",
                   "price": "1.50", "big": 2 ** 70}


def test_nan_is_null_not_invalid_json(app):
    with app.test_request_context():
        assert jsonify({"x": float("nan")}).get_data() == b'{"x":null}\n'


def test_debug_answers_are_indented(sample_home):
    debug_app = create_app({"KB_HOME": str(sample_home)})
    debug_app.debug = True
    with debug_app.test_request_context():
        assert b'\n  "a": 1' in jsonify({"a": 1}).get_data()


def test_a_search_answer_is_the_same_json_through_either_encoder(client):
    answer = client.get("/api/v1/search?q=science+diplomacy")
    assert answer.status_code == 200
    body = answer.get_json()
    assert answer.get_data() == (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
