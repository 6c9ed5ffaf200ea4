"""Request and response schemas (marshmallow), which also make the OpenAPI document."""
from __future__ import annotations

import copy

from marshmallow import ValidationError, fields, validate

from kb.output import EXPORT_FIELDS, HIT_FIELDS, FieldsError, chosen_fields

from .citation_schemas import DocumentRef, MetadataArgs
from .dumping import Schema
from .formats import color_field, format_field

MAX_LIMIT = 100
MAX_FILTER_VALUES = 50
MAX_DOCUMENT_VALUES = 1000        # in a URL; gunicorn's request line (8190 bytes) holds about 250
MAX_DOCUMENT_VALUES_POST = 10_000  # in the JSON body of POST /api/v1/search


def always(*names: str):
    """Mark these fields of a response schema required in the OpenAPI document (they are in every
    answer), so generated clients type them as present. Each field is copied first: a subclass
    marking an inherited field does not change its parent."""
    def decorate(cls):
        for name in names:
            field = copy.copy(cls._declared_fields[name])
            field.required = True
            cls._declared_fields[name] = field
        return cls
    return decorate


def narrowable(cls):
    """A passage that ``fields=`` may narrow: ``id`` is in every answer, any other field only when the
    answer was not narrowed to leave it out, so only ``id`` is marked required (an honest schema for
    both answers: generated clients read a narrowed hit without failing on a missing field)."""
    for name, field in list(cls._declared_fields.items()):
        if field.required != (name == "id"):
            field = copy.copy(field)
            field.required = name == "id"
            cls._declared_fields[name] = field
    return cls


def fields_arg(names: tuple[str, ...], what: str):
    """``fields=``: names of ``names``, comma-separated (blanks ignored, as kb.output.chosen_fields reads them)."""
    name = "(?:" + "|".join(names) + ")"
    pattern = rf"^\s*(?:{name}\s*)?(?:,\s*(?:{name}\s*)?)*$"

    def known(value: str) -> None:   # the message that names the field and lists the valid ones
        try:
            chosen_fields(value, names, "json")
        except FieldsError as exc:
            raise ValidationError(str(exc)) from None
    return fields.List(fields.String(validate=[validate.Length(min=1, max=1000), known],
                                     metadata={"pattern": pattern}), data_key="fields",
                       load_default=list, validate=validate.Length(max=len(names)), metadata={
        "description": f"Only these fields of each {what} (comma-separated or repeatable): "
                       f"{', '.join(names)}. `id` is always kept; the others are left out of the answer "
                       "(format=json and jsonl only, else a 400; an unknown name is a 422 that lists these).",
        "example": ["id,text,document"]})


def tag_list(description: str, most: int = MAX_FILTER_VALUES):
    return fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                       validate=validate.Length(max=most), load_default=list,
                       metadata={"description": description})


class FilterArgs(Schema):
    tag = tag_list("Passages must carry every one of these tags (repeatable).")
    any_tag = tag_list("Passages must carry at least one of these tags (repeatable).")
    not_tag = tag_list("Passages must carry none of these tags (repeatable).")
    document = tag_list("Only passages of these documents (repeatable, up to 1,000; for more, "
                         "POST /api/v1/search with a JSON body).", MAX_DOCUMENT_VALUES)


class SearchArgs(FilterArgs, MetadataArgs):
    q = fields.String(load_default="", metadata={
        "description": 'A question or text (auto, words: up to KB_QUERY_MAX_CHARS characters; a long text '
                       'is searched by its most telling words; POST it when it does not fit in a URL), or a '
                       'query (at most 1000 characters): words (ORed, more matches rank higher), `"exact phrase"`, '
                       '`"phrase"~2`, `AND`/`OR`/`NOT`, `-word`, `prefix*`, `word~`, `tags:...`, `title:...`, '
                       '`section:...`. Empty: every passage that passes the tag filters.',
        "example": "public health"})
    limit = fields.Integer(load_default=10, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "Hits per page (1-100)."})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000),
                            metadata={"description": "Hits to skip (follow the next/prev links rather than counting)."})
    group_by = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(["document"]),
                             metadata={"description": "document: best passage per document; total counts documents."})
    highlight = fields.Boolean(load_default=True, metadata={
        "description": "false: no snippet (faster)."})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(["relevance", "document"]), metadata={
        "description": "relevance (best first) or document (by document, then reading order)."})
    syntax = fields.String(load_default="auto", validate=validate.OneOf(["auto", "query", "words"]), metadata={
        "description": "auto (the default, as in `kb search` and `KnowledgeBase.search`): the query syntax "
                       "when valid, else every word as a word, said in `notice` (any text is an answer, never "
                       "an error); query: the query syntax, invalid syntax is a 400 that says where; words: "
                       "every word is a word (for natural-language text)."})
    format = format_field("default json")
    color = color_field()
    mode = fields.String(load_default=None, allow_none=False,
                         validate=validate.OneOf(["lexical", "semantic", "hybrid"]), metadata={
        "description": "lexical (BM25, the default unless KB_SEARCH_MODE says otherwise), semantic "
                       "(embedding similarity) or hybrid (both rankings fused); semantic and hybrid "
                       "need the semantic extra. In those modes every filtered passage with an "
                       "embedding is a match (hybrid: and every word match), so total counts them."})
    fusion = fields.String(load_default=None, allow_none=False,
                           validate=validate.OneOf(["rrf", "normalized"]), metadata={
        "description": "hybrid: normalised score fusion (default) or reciprocal rank fusion."})
    keep = fields_arg(HIT_FIELDS, "hit")


class SearchBody(SearchArgs):
    """POST /api/v1/search: the same arguments as a JSON object, lists as arrays."""
    document = tag_list("Only passages of these documents (up to 10,000).", MAX_DOCUMENT_VALUES_POST)


class ExportArgs(FilterArgs, MetadataArgs):
    format = format_field("default jsonl")
    color = color_field()
    keep = fields_arg(EXPORT_FIELDS, "line")


class EvidenceSchema(Schema):
    tag = fields.String()
    phrase = fields.String()
    start = fields.Integer()
    end = fields.Integer()
    source = fields.String(metadata={"description": "Absent: a taxonomy phrase in the passage. `context`: the "
                                                    "topic is established in the document (`via` says where); "
                                                    "`manual`: added by hand (`by` whom, `at` when)."})
    via = fields.String()
    by = fields.String()
    at = fields.String()


class ManualEditSchema(Schema):
    tag = fields.String()
    action = fields.String(metadata={"description": "add or remove"})
    by = fields.String()
    at = fields.String()
    fingerprint = fields.String(metadata={"description": "Of the passage text the edit was made on."})
    stale = fields.Boolean(metadata={"description": "The passage's text changed since: kept, not applied."})


class SuggestedTagSchema(Schema):
    tag = fields.String()
    score = fields.Float(metadata={"description": "Similarity, 0 to 1."})
    source = fields.String(metadata={"description": "description: like the topic's description (embeddings); "
                                                    "example: like passages tagged by hand."})
    like = fields.String(allow_none=True, metadata={
        "description": "The passage tagged by hand it resembles most (source example)."})
    method = fields.String(metadata={"description": "source example: words (the share of the examples' key-term "
                                                    "weight it holds) or embeddings (cosine to their mean)."})


@always("id", "document_id", "ordinal", "section", "start", "end", "text", "words", "tags", "keywords",
        "suggested_tags")
class PassageSchema(Schema):
    id = fields.String(required=True, metadata={"example": "science-diplomacy:1"})
    document = fields.Nested(DocumentRef)
    document_id = fields.String()
    ordinal = fields.Integer()
    section = fields.String()
    start = fields.Integer(metadata={"description": "Where the passage starts in its document's `text` (the "
                                                    "clean text): `document.text[start:end] == text`, exactly."})
    end = fields.Integer(metadata={"description": "Where the passage ends in its document's `text` (exclusive)."})
    page = fields.Integer(metadata={"description": "Page the passage starts on (documents with pages: PDF)."})
    page_end = fields.Integer(metadata={"description": "Page it ends on, when that is the next page or later."})
    text = fields.String()
    words = fields.Integer()
    tags = fields.List(fields.String())
    keywords = fields.List(fields.String())
    suggested_tags = fields.List(fields.Raw(), metadata={
        "description": "Tags suggested, never tags themselves (not filtered, not counted): topics whose "
                       "description an untagged passage resembles (embeddings; a tag id), and tags of "
                       "passages tagged by hand that this one resembles (`{tag, score, source: example, "
                       "like}`)."})


@always("document", "score")
class HitSchema(PassageSchema):
    score = fields.Float(allow_none=True)
    snippet = fields.String(metadata={"description": "HTML-escaped text with <mark> around matches."})


@narrowable
class SearchHitSchema(HitSchema):
    """A hit of a search: every field of Hit, but `fields=` may leave any of them out except `id`."""


@always("query", "mode", "total", "offset", "limit", "hits", "facets", "took_ms", "partial", "next", "prev",
        "syntax", "notice")
class SearchResponseSchema(Schema):
    query = fields.String()
    mode = fields.String()
    total = fields.Integer(metadata={"description": "Exact number of matching passages (documents when grouped)."})
    offset = fields.Integer()
    limit = fields.Integer()
    hits = fields.List(fields.Nested(SearchHitSchema), metadata={
        "description": "Each hit with every field of Hit, or with `id` and the fields `fields=` names."})
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))
    took_ms = fields.Float()
    partial = fields.Boolean(metadata={"description": "true when the engine could not search everything."})
    next = fields.String(allow_none=True, metadata={"description": "URL of the next page, null on the last."})
    prev = fields.String(allow_none=True, metadata={"description": "URL of the previous page, null on the first."})
    syntax = fields.String(metadata={"description": "How q was read: query or words."})
    notice = fields.String(allow_none=True, metadata={
        "description": "Why q was read as plain words (auto mode, invalid syntax), and tags filtered on that "
                       "no passage has (a likely typo)."})


@narrowable
class ExportedPassageSchema(Schema):
    """One line of the export (JSON Lines): a passage with its document's title and its tag evidence.
    Every field is in every line unless `fields=` narrows the export (`id` always is)."""
    id = fields.String(metadata={"example": "science-diplomacy:1"})
    document_id = fields.String()
    document_title = fields.String()
    document = fields.Nested(DocumentRef)
    ordinal = fields.Integer()
    section = fields.String()
    text = fields.String()
    start = fields.Integer()
    end = fields.Integer()
    page = fields.Integer()
    page_end = fields.Integer()
    tags = fields.List(fields.String())
    keywords = fields.List(fields.String())
    evidence = fields.List(fields.Nested(EvidenceSchema))
    manual = fields.List(fields.Nested(ManualEditSchema), metadata={
        "description": "Tags added or removed by hand, the last edit per tag."})
    suggested_tags = fields.List(fields.Raw(), metadata={"description": "As on a passage: suggested, never tags."})
    words = fields.Integer()


@always("passages", "total")
class ExportResponseSchema(Schema):
    passages = fields.List(fields.Nested(ExportedPassageSchema))
    total = fields.Integer()


@always("evidence", "manual")
class PassageDetailSchema(PassageSchema):
    previous = fields.String(allow_none=True)
    next = fields.String(allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceSchema))
    manual = fields.List(fields.Nested(ManualEditSchema), metadata={
        "description": "Tags added or removed by hand, the last edit per tag."})


class SimilarArgs(FilterArgs):
    limit = fields.Integer(load_default=10, validate=validate.Range(1, MAX_LIMIT))


@always("id", "hits")
class SimilarResponseSchema(Schema):
    id = fields.String()
    hits = fields.List(fields.Nested(HitSchema))


@always("tag", "label", "description", "broader", "count")
class TagSchema(Schema):
    tag = fields.String(metadata={"example": "public-health"})
    label = fields.String()
    description = fields.String()
    broader = fields.List(fields.String())
    count = fields.Integer(metadata={"description": "Passages carrying the tag."})


@always("tags", "taxonomy")
class TagListSchema(Schema):
    tags = fields.List(fields.Nested(TagSchema))
    taxonomy = fields.Dict(metadata={"description": "The knowledge base's taxonomy: name, version, "
                                                    "fingerprint, topics, stored_at, source."})


class SuggestArgs(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"example": "diplom"})
    limit = fields.Integer(load_default=5, validate=validate.Range(1, 20))


@always("text", "hits")
class Suggestion(Schema):
    text = fields.String()
    hits = fields.Integer()


@always("query", "completions", "did_you_mean")
class SuggestResponseSchema(Schema):
    query = fields.String()
    completions = fields.List(fields.Nested(Suggestion))
    did_you_mean = fields.Nested(Suggestion, allow_none=True)


@always("status", "semantic")
class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    semantic = fields.String(metadata={"description": "off, loading or ready: the embedding model."})


@always("documents", "passages", "tags", "index_bytes", "version", "kb_version", "taxonomy")
class StatsSchema(Schema):
    documents = fields.Integer()
    passages = fields.Integer()
    tags = fields.Integer()
    index_bytes = fields.Integer()
    version = fields.String()
    embedded = fields.Integer(metadata={"description": "Passages with an embedding (semantic extra)."})
    vectors_bytes = fields.Integer()
    vector_model = fields.String()
    kb_version = fields.String()
    taxonomy = fields.Dict()
