"""Schemas of the citation record (kb.citation): the document a passage cites, the citation fields
of a stored and of a posted document, and the filters on them (author, date, source)."""
from __future__ import annotations

from marshmallow import fields, validate

from .dumping import Schema

MAX_AUTHOR_VALUES = 50   # author= values in one request
# a date filter: 2020, 2020-03, 2020-03-04, or empty (none); kb.metadata_filters.DATE_BOUND, or empty
ISO_DATE = r"^(\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?)?$"


class MetadataArgs(Schema):
    """Filters on the documents' citation records (kb.metadata_filters)."""
    author = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                         validate=validate.Length(max=MAX_AUTHOR_VALUES), load_default=list, metadata={
        "description": "Documents by any of these authors (repeatable): every word must be a word of one "
                       "author's name, case and accents ignored (`roe`, `Jane Roe`). Also `author:roe` in q."})
    date_from = fields.String(load_default="", validate=validate.Regexp(ISO_DATE), metadata={
        "description": "Documents dated on or after this ISO date (`2020`, `2020-03`, `2020-03-04`); a partial "
                       "date covers its whole year or month, and a document dated `2021` is kept by "
                       "`date_from=2021-06` (its year overlaps). Documents without a date are left out. "
                       "Also `date:>=2020` in q.", "example": "2020-01-01"})
    date_to = fields.String(load_default="", validate=validate.Regexp(ISO_DATE), metadata={
        "description": "Documents dated on or before this ISO date (inclusive, partial dates as date_from). "
                       "Also `date:<=2021` (or `date:2019..2021`, `date:2020`) in q."})
    source = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Documents whose source (path or URL) starts with this. Also `source:...` in q."})


class CitationFormatArgs(Schema):
    """``format=`` of an answer that is JSON or one passage's citation."""
    format = fields.String(load_default=None, allow_none=False,
                           validate=validate.OneOf(["json", "csl", "bibtex", "ris"]), metadata={
        "description": "json (default), or the passage as a citation of its document: csl (CSL-JSON), bibtex "
                       "or ris, the passage's text as the note and its page as the locator. Without it the "
                       "Accept header decides."})


class DocumentRef(Schema):
    """Enough of the document to cite a passage without asking for the document."""
    id = fields.String(required=True, metadata={"example": "science-diplomacy"})
    title = fields.String(required=True, metadata={"example": "Build science diplomacy with Chinese characteristics"})
    authors = fields.List(fields.String(), metadata={"description": "Authors' names as the source gives them."})
    date = fields.String(metadata={"description": "ISO 8601 as precise as the source: 2021, 2021-03, "
                                                  "2021-03-04 or a date-time; empty when unknown."})
    url = fields.String()
    doi = fields.String(metadata={"description": "The DOI (10.xxxx/...), without https://doi.org/."})
    publisher = fields.String(metadata={"description": "Publisher, journal or site name."})
    source = fields.String(metadata={"description": "The path or URL it was ingested from."})


class CitationFields(Schema):
    """A stored document's citation record."""
    authors = fields.List(fields.String())
    date = fields.String(metadata={"description": "ISO 8601 as precise as the source (2021, 2021-03, ...)."})
    url = fields.String()
    doi = fields.String()
    publisher = fields.String()
    page_starts = fields.List(fields.Integer(), metadata={
        "description": "Offset in the text where each page starts (PDF)."})


class CitationInput(Schema):
    """The citation fields a posted document may give."""
    authors = fields.List(fields.String(validate=validate.Length(min=1, max=2000)), load_default=list,
                          validate=validate.Length(max=200))
    date = fields.String(load_default="", validate=validate.Length(max=40), metadata={
        "description": "ISO 8601 as precise as known: 2021, 2021-03, 2021-03-04 or a date-time."})
    url = fields.String(load_default="", validate=validate.Length(max=2000))
    doi = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "10.xxxx/... (a doi.org URL or doi: name is read too)."})
    publisher = fields.String(load_default="", validate=validate.Length(max=2000))


class CitationUploadArgs(Schema):
    """The citation fields of a raw-body upload, as query parameters (a multipart upload sends them
    as form fields)."""
    source = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Raw body: where the file comes from (path or URL); default: its file name."})
    url = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Raw body: the document's URL."})
    date = fields.String(load_default="", validate=validate.Length(max=40), metadata={
        "description": "Raw body: ISO 8601 as precise as known (2021, 2021-03, 2021-03-04)."})
    doi = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Raw body: its DOI (10.xxxx/...)."})
    publisher = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Raw body: publisher, journal or site."})
    author = fields.List(fields.String(validate=validate.Length(min=1, max=2000)), load_default=list,
                         validate=validate.Length(max=200),
                         metadata={"description": "Raw body: an author (repeatable)."})
    authors = fields.String(load_default="", validate=validate.Length(max=20_000), metadata={
        "description": "Raw body: authors separated by ';'."})
    metadata = fields.String(load_default="", validate=validate.Length(max=65_536), metadata={
        "description": "Raw body: a JSON object kept with the document (over what the file says)."})
