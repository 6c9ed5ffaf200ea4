"""Examples for the OpenAPI document, taken from the bundled sample corpus (science-diplomacy):
answers of this API on the sample, stored in examples.json by tools/make_api_examples.py.
tests/api/test_openapi.py checks that they still agree with what the API answers."""
from __future__ import annotations

import json
from pathlib import Path

_ALL = json.loads((Path(__file__).with_name("examples.json")).read_text(encoding="utf-8"))

SEARCH: dict = _ALL["SEARCH"]
SEARCH_TEXT: str = _ALL["SEARCH_TEXT"]
SEARCH_CSV: str = _ALL["SEARCH_CSV"]
SEARCH_JSONL: str = _ALL["SEARCH_JSONL"]
EXPORT_JSONL: str = _ALL["EXPORT_JSONL"]
EXPORT_TEXT: str = _ALL["EXPORT_TEXT"]
EXPORT_CSV: str = _ALL["EXPORT_CSV"]
EXPORT_JSON: dict = _ALL["EXPORT_JSON"]
SUGGEST: dict = _ALL["SUGGEST"]
DOCUMENTS: dict = _ALL["DOCUMENTS"]
DOCUMENT: dict = _ALL["DOCUMENT"]
PASSAGE: dict = _ALL["PASSAGE"]
SIMILAR: dict = _ALL["SIMILAR"]
TAGS: dict = _ALL["TAGS"]
STATS: dict = _ALL["STATS"]
NEW_DOCUMENT: dict = _ALL["NEW_DOCUMENT"]
CREATED: dict = _ALL["CREATED"]
BULK_BODY: str = _ALL["BULK_BODY"]
BULK_RESULT: dict = _ALL["BULK_RESULT"]
ERRORS: dict[int, dict] = {int(code): body for code, body in _ALL["ERRORS"].items()}
