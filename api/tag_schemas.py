"""Schemas of the taxonomy and of tags edited by hand (api/tags.py): the rest of the API's schemas are
in api/schemas.py."""
from __future__ import annotations

from marshmallow import fields, validate

from .dumping import Schema
from .schemas import MAX_FILTER_VALUES, FilterArgs, ManualEditSchema, PassageSchema, always


def _tags_field(description: str):
    return fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                       validate=validate.Length(max=MAX_FILTER_VALUES), metadata={"description": description})


class TagEditSchema(Schema):
    add = _tags_field("Tags to add by hand.")
    remove = _tags_field("Tags to remove by hand (they stay removed whatever the taxonomy says).")
    by = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                       metadata={"description": "Who makes the edit (default: http: and the client's address)."})


@always("id", "tags", "manual", "changed")
class TagEditResultSchema(Schema):
    id = fields.String()
    tags = fields.List(fields.String())
    manual = fields.List(fields.Nested(ManualEditSchema))
    changed = fields.Boolean(metadata={"description": "false when the passage already was so."})


class TagQuerySchema(FilterArgs):
    q = fields.String(load_default="", validate=validate.Length(max=1000),
                      metadata={"description": "The query whose every hit is tagged (search's syntax)."})
    syntax = fields.String(load_default="query", validate=validate.OneOf(["auto", "query", "words"]))
    remove = fields.Boolean(load_default=False, metadata={"description": "true: remove the tag instead."})
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (the default): only say how many passages would change; send false to do it."})
    by = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class TagQueryResultSchema(Schema):
    tag = fields.String()
    action = fields.String()
    matched = fields.Integer(metadata={"description": "Passages the query and filters find."})
    to_change = fields.Integer(metadata={"description": "Of those, the ones the edit changes."})
    dry_run = fields.Boolean()
    sample = fields.List(fields.String(), metadata={"description": "Up to 20 ids of passages it changes."})
    changed = fields.Integer(metadata={"description": "Passages changed (not in a dry run)."})


class TaxonomyArgs(Schema):
    format = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(["json", "yaml"]),
                           metadata={"description": "json (default) or yaml: the file as stored (or Accept: "
                                                    "application/yaml)."})


class TaxonomySchema(Schema):
    name = fields.String()
    version = fields.Integer()
    fingerprint = fields.String(metadata={"description": "Of what the taxonomy says (comments and layout aside)."})
    stored_at = fields.String()
    source = fields.String(metadata={"description": "The file it was stored from (or bundled default)."})
    topics = fields.Dict(metadata={"description": "Topic id → label, description, broader, synonyms, all_of, "
                                                  "exclude, context, min_hits."})


class TagSuggestionArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    min_score = fields.Float(load_default=None, validate=validate.Range(0, 1), metadata={
        "description": "Lowest score listed (default: 0.15 by words, 0.3 by embeddings)."})


class SuggestedPassageSchema(PassageSchema):
    score = fields.Float(metadata={"description": "How like the examples it is, 0 to 1 (see method)."})
    method = fields.String()
    like = fields.String(allow_none=True, metadata={"description": "The example it resembles most (none: it "
                                                                   "shares no key term with them)."})


class TagSuggestionsSchema(Schema):
    tag = fields.String()
    examples = fields.Integer(metadata={"description": "Passages tagged so by hand (at most the latest 50 count)."})
    method = fields.String(metadata={"description": "words, or embeddings when the semantic extra is on and "
                                                    "passages have vectors."})
    min_score = fields.Float()
    suggestions = fields.List(fields.Nested(SuggestedPassageSchema), metadata={
        "description": "Passages without the tag most like its examples, best first."})
