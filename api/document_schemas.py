"""Request and response schemas of documents: listing and syncing, posting, uploading, patching,
bulk lines (the passage and citation schemas they nest are in ``schemas`` and ``citation_schemas``)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates

from kb import limits
from kb.models import valid_document_id
from kb.readers import TITLE_MAX

from .citation_schemas import CitationFields, CitationInput, CitationUploadArgs, MetadataArgs
from .dumping import Schema
from .schemas import PassageDetailSchema, always


@always("id", "title", "source", "tags", "metadata", "ingested_at", "passages")
class DocumentSummarySchema(CitationFields):
    id = fields.String(metadata={"example": "science-diplomacy"})
    title = fields.String()
    source = fields.String()
    tags = fields.List(fields.String())
    metadata = fields.Dict()
    ingested_at = fields.String(metadata={"format": "date-time", "description": "When it was (last) stored, UTC."})
    passages = fields.Integer(metadata={"description": "Number of passages."})


@always("text")
class DocumentDetailSchema(DocumentSummarySchema):
    text = fields.String(metadata={"description": "The clean text its passages cite (each passage is "
                                                  "`text[start:end]`): the passages a blank line apart, without "
                                                  "markup, site chrome or footers."})
    passages = fields.List(fields.Nested(PassageDetailSchema))


class PageArgs(MetadataArgs):
    format = fields.String(load_default=None, allow_none=False,
                           validate=validate.OneOf(["json", "csl", "bibtex", "ris"]), metadata={
        "description": "json (default), or the page of documents as citations: csl (CSL-JSON), bibtex or ris. "
                       "Without it the Accept header decides."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000),
                           metadata={"description": "Documents per page (1-1000)."})
    offset = fields.Integer(load_default=0, validate=validate.Range(0), metadata={"description": "Documents to skip."})
    since = fields.String(load_default=None, allow_none=False, validate=validate.Length(min=4, max=40), metadata={
        "format": "date-time",
        "description": "An ISO 8601 time (a date alone is read as its midnight; UTC unless it says): "
                       "only the documents stored (added, "
                       "replaced or changed) at or after it, and `deleted`, every document deleted since. "
                       "Send the answer's `as_of` next time to sync.", "example": "2024-05-01T10:00:00Z"})


class DeletionSchema(Schema):
    id = fields.String(required=True)
    deleted_at = fields.String(required=True, metadata={"format": "date-time"})


@always("total", "offset", "limit", "documents", "next", "prev", "as_of")
class DocumentListSchema(Schema):
    total = fields.Integer(metadata={"description": "Documents (with since: documents stored since)."})
    offset = fields.Integer()
    limit = fields.Integer()
    documents = fields.List(fields.Nested(DocumentSummarySchema))
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)
    as_of = fields.String(metadata={"format": "date-time", "description": "The server's time when it read: the "
                                                                  "`since` of the next sync."})
    since = fields.String(metadata={"format": "date-time", "description": "With since: the time asked, in UTC."})
    deleted = fields.List(fields.Nested(DeletionSchema), metadata={
        "description": "With since: every document deleted since (and not stored again), oldest first."})


def _within_tag_limits(field: str):
    def check(tags):
        try:
            limits.check_tags(tags, field)
        except limits.OverLimit as exc:
            raise ValidationError(exc.reason) from None
    return check


def stored_tags(description: str, field: str = "tags"):
    """Tags a write stores: their count and length are kb.limits' (KB_MAX_TAGS, KB_MAX_TAG_LENGTH),
    the same on every way in, and a refusal names the setting."""
    return fields.List(fields.String(validate=validate.Length(min=1)), load_default=list,
                       validate=_within_tag_limits(field), metadata={"description": description})


class DocumentInputSchema(CitationInput):
    """A document posted as JSON (unknown fields are refused, so a typo is not silently lost)."""
    id = fields.String(metadata={"description": "Stable id (letters, digits, '.', '_', '-'); default: a slug of "
                                                "the title and a hash of the text, so re-posting replaces.",
                                 "example": "field-note-1"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX),
                          metadata={"example": "Field note"})
    text = fields.String(load_default="", metadata={
        "description": "The document's text; absent or empty: the title is the text (a title-only record).",
        "example": "Vaccines were shipped to developing countries last spring."})
    tags = stored_tags("Tags every passage of the document carries (at most KB_MAX_TAGS, 50 by default).")
    source = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "Path or URL."})
    metadata = fields.Dict(load_default=dict, metadata={
        "description": "Free JSON, kept with the document (at most KB_MAX_METADATA bytes of JSON, 64 KB by "
                       "default, and KB_MAX_DEPTH levels deep, 32)."})

    @validates("id")
    def _valid_id(self, value, **_):
        if not valid_document_id(value):
            raise ValidationError("not a valid document id (letters, digits, '.', '_', '-'; at most 200)")

    @post_load
    def _title_only(self, data, **_):
        if "text" in data and not data["text"].strip():   # a PATCH (partial, no text) has none
            if not data["title"].strip():
                raise ValidationError("the document has neither text nor title", "text")
            data["text"] = " ".join(data["title"].split())
        return data


class UploadArgs(CitationUploadArgs):
    """What a raw-body upload (or a multipart one) cannot say in its body."""
    filename = fields.String(load_default="", validate=validate.Length(max=1000), metadata={
        "description": "Raw body: the file's name (its extension picks the reader when the type does not)."})
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=TITLE_MAX),
                          metadata={"description": "Raw body: overrides the title found in it."})
    id = fields.String(load_default=None, metadata={"description": "Raw body: the document id (POST only)."})
    tag = stored_tags("Raw body: tags for every passage (repeatable).", "tag")


class BulkArgs(Schema):
    tag = stored_tags("Tags for every passage of every document (repeatable).", "tag")


class DocumentPatchSchema(DocumentInputSchema):
    """PATCH /api/v1/documents/<id>: any field of a posted document but its id and text (loaded
    partial: only the fields sent change)."""
    class Meta:
        exclude = ("id", "text")


@always("id", "title", "passages", "tags", "replaced", "url", "warnings")
class DocumentCreatedSchema(Schema):
    id = fields.String(metadata={"example": "field-note-1"})
    title = fields.String()
    passages = fields.Integer(metadata={"description": "Number of passages the document was split into."})
    tags = fields.List(fields.String(), metadata={"description": "Tags of its passages, most frequent first."})
    replaced = fields.Boolean(metadata={"description": "true when a document with this id was there before."})
    url = fields.String(metadata={"description": "Where the document is now."})
    warnings = fields.List(fields.String())


@always("line", "status")
class BulkLineSchema(Schema):
    line = fields.Integer(allow_none=True)
    status = fields.Integer(metadata={"description": "201 landed, 422 refused (see error), 409 refused: its id "
                                                     "holds a document of another source."})
    outcome = fields.String(metadata={"description": "For a line that landed: new, replaced or unchanged "
                                                     "(the same title and text as before)."})
    id = fields.String()
    title = fields.String()
    passages = fields.Integer()
    tags = fields.List(fields.String())
    error = fields.String()


@always("documents", "refused", "passages", "results")
class BulkResultSchema(Schema):
    documents = fields.Integer(metadata={"description": "Documents that landed."})
    refused = fields.Integer(metadata={"description": "Lines refused."})
    passages = fields.Integer()
    results = fields.List(fields.Nested(BulkLineSchema), metadata={"description": "One per non-blank line, in order."})
