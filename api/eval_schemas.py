"""Schemas of POST /api/v1/eval: judged queries in, as ``kb eval`` reads them from files."""
from __future__ import annotations

from marshmallow import fields, validate

from .dumping import Schema


class EvalQuerySchema(Schema):
    _id = fields.String(required=True, data_key="_id", metadata={"example": "q1"})
    text = fields.String(required=True, validate=validate.Length(min=1),
                         metadata={"example": "How does the US military use public health programs?"})


class EvalJudgmentSchema(Schema):
    query_id = fields.String(required=True, metadata={"example": "q1"})
    id = fields.String(required=True, metadata={"description": "A document id (group_by document) or a passage id.",
                                                "example": "science-diplomacy:1"})
    score = fields.Integer(load_default=1, metadata={"description": "Above 0: relevant, and its graded gain."})


class EvalArgs(Schema):
    """Judged queries to run (``kb eval`` over HTTP)."""
    queries = fields.List(fields.Nested(EvalQuerySchema), required=True, validate=validate.Length(min=1, max=10_000))
    qrels = fields.List(fields.Nested(EvalJudgmentSchema), required=True,
                        validate=validate.Length(min=1, max=1_000_000))
    modes = fields.List(fields.String(validate=validate.OneOf(["lexical", "semantic", "hybrid"])),
                        load_default=lambda: ["lexical"], validate=validate.Length(min=1, max=3))
    group_by = fields.String(load_default="document", validate=validate.OneOf(["document", "passage"]))
    syntax = fields.String(load_default="words", validate=validate.OneOf(["auto", "query", "words"]))
    fusion = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(["normalized", "rrf"]),
                           metadata={"description": "How hybrid fuses (as `fusion` of /search); the default "
                                                    "fusion when absent."})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "text", "csv"]))
