"""GET (and POST) /api/v1/search, POST /api/v1/eval, GET /api/v1/export and GET /api/v1/suggest."""
from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from index import Filters, SearchRequest
from kb import evaluation
from kb.output import EXPORT_FIELDS, HIT_FIELDS, FieldsError, chosen_fields, eval_lines, narrowed, wants_snippet

from . import examples
from .documents import metadata_from
from .eval_schemas import EvalArgs
from .formats import FORMATS, negotiate, stream
from .kbstore import get_kb, wait_for_model
from .openapi import alternative_formats, errors, passage_links
from .paging import link_header, page_links
from .schemas import (
    ExportArgs,
    ExportedPassageSchema,
    SearchArgs,
    SearchBody,
    SearchResponseSchema,
    SuggestArgs,
    SuggestResponseSchema,
)

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="Full-text and tag search, and export")

SEARCH_FORMATS = ("json", "text", "csv", "jsonl", "csl", "bibtex", "ris")
EXPORT_FORMATS = ("jsonl", "csv", "text", "json", "csl", "bibtex", "ris")


def kept_fields(args: dict, valid: tuple[str, ...], fmt: str, where: str = "query") -> tuple[str, ...]:
    """The ``fields=`` of a request (kb.output.chosen_fields); a 400 for a format with its own columns
    (an unknown name is refused before, by the schema: a 422 that lists the fields)."""
    try:
        return chosen_fields(args.get("keep"), valid, FORMATS[fmt][1])
    except FieldsError as exc:
        abort(400, message=str(exc), errors={where: {"fields": [str(exc)]}})


def filters_from(args: dict) -> Filters:
    return Filters(tags=tuple(args.get("tag", ())), any_tags=tuple(args.get("any_tag", ())),
                   not_tags=tuple(args.get("not_tag", ())), documents=tuple(args.get("document", ())))


SEARCH_HEADERS = {"Link": {"description": 'rel="next" and rel="prev" pages', "schema": {"type": "string"}},
                  "ETag": {"description": "Changes with every commit to the index", "schema": {"type": "string"}}}


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs(), location="query")
    @blp.response(200, SearchResponseSchema, example=examples.SEARCH, headers=SEARCH_HEADERS)
    @alternative_formats(blp, examples.SEARCH_TEXT, examples.SEARCH_CSV, examples.SEARCH_JSONL)
    @passage_links(blp, "/hits/0/id")
    @errors(blp, 304, 400, 401, 406, 501, 503)
    @blp.doc(operationId="search")
    def get(self, args):
        """Search passages by words and tags

        Ranked by BM25 (mode=lexical), by embedding similarity (semantic) or both fused (hybrid);
        highlighted, with tag facets over the whole filtered result set. `format` (or the
        Accept header) picks JSON, text for a terminal, CSV or JSON Lines; pages link to each other in the
        `Link` header and in `next`/`prev`."""
        return search(args, paged=True, where="query")

    @blp.arguments(SearchBody(), location="json")
    @blp.response(200, SearchResponseSchema, example=examples.SEARCH)
    @alternative_formats(blp, examples.SEARCH_TEXT, examples.SEARCH_CSV, examples.SEARCH_JSONL)
    @errors(blp, 400, 401, 406, 422, 501, 503)
    @blp.doc(operationId="searchPost", security=[{}, {"bearerAuth": []}])
    def post(self, args):
        """Search with the arguments in a JSON body: a long text (a pasted abstract), long `document` lists

        The same arguments and answer as `GET /api/v1/search`, lists as JSON arrays; `q` as long as
        KB_QUERY_MAX_CHARS; `document` takes up to 10,000 ids here (a URL holds about 250). A read: no
        write token needed. `next`/`prev` are null (the body is not in a URL): send the next `offset`."""
        return search(args, paged=False, where="json")


def search(args: dict, paged: bool, where: str):
    """One search, answered in the negotiated format; ``paged``: with page URLs (not for a POST);
    ``where`` the arguments came from (for errors)."""
    fmt = negotiate(args["format"], SEARCH_FORMATS)
    keep = kept_fields(args, HIT_FIELDS, fmt, where)
    kb = get_kb()
    request = SearchRequest(q=args["q"], filters=filters_from(args), limit=args["limit"],
                            offset=args["offset"], group_by=args["group_by"], sort=args["sort"],
                            highlight=args["highlight"] and wants_snippet(keep), facets=fmt == "json",
                            syntax=args["syntax"], mode=args["mode"], fusion=args["fusion"])
    wait_for_model(kb, request.mode)
    response = kb.search(request, metadata=metadata_from(args))
    links = page_links(args["offset"], args["limit"], response.total) if paged else {"next": None, "prev": None}
    headers = {**link_header(links), "X-Total-Count": str(response.total)}
    if response.partial:  # a shard did not answer: said in every format, never silently short
        headers["X-Partial"] = "true"
    hits = list(narrowed(response.hits, keep))
    if fmt != "json":
        return stream(hits, fmt, headers=headers, total=response.total, query=args["q"],
                      color=args["color"], filename="search", next_url=links["next"])
    body = {"query": args["q"], "mode": args["mode"] or kb.default_mode, "total": response.total,
            "offset": args["offset"], "limit": args["limit"], "hits": hits, "facets": response.facets,
            "took_ms": response.took_ms, "partial": response.partial,
            "syntax": response.syntax, "notice": response.notice, **links}
    return body, 200, headers


@blp.route("/eval")
class Eval(MethodView):
    @blp.arguments(EvalArgs(), location="json")
    @blp.response(200, description="nDCG@10, recall@100 and MRR per mode, with per-query figures "
                                   "(format=text: a table, csv: one row per mode and query).")
    @errors(blp, 400, 401, 413, 501, 503)
    @blp.doc(operationId="evaluate", security=[{}, {"bearerAuth": []}])
    def post(self, args):
        """Score the ranking on judged queries: the modes side by side (what `kb eval` prints)

        Queries as BEIR's queries.jsonl records, judgments as `{query_id, id, score}`; runs each query
        (top 100) in each mode. A read: the read token, when set, is all it needs. One request may
        search for `KB_HTTP_EVAL_TIME` seconds (30 by default), then it is a 413: send the queries
        in batches, or run `kb eval`."""
        qrels: dict[str, dict[str, int]] = {}
        for j in args["qrels"]:
            qrels.setdefault(j["query_id"], {})[j["id"]] = j["score"]
        kb = get_kb()
        for mode in args["modes"]:
            wait_for_model(kb, mode)
        try:
            judged = evaluation.judgments({q["_id"]: q["text"] for q in args["queries"]}, qrels)
            report = kb.evaluate(judged, args["modes"], args["group_by"], args["syntax"], args["fusion"],
                                 budget=current_app.config["KB_SETTINGS"].http_eval_time)
        except evaluation.OverTime as exc:
            abort(413, message=str(exc), errors={"json": {"queries": [str(exc)]}})
        except evaluation.EvaluationError as exc:
            abort(422, message=str(exc), errors={"json": {"qrels": [str(exc)]}})
        if args["format"] == "json":
            return report
        mimetype = "text/csv" if args["format"] == "csv" else "text/plain"
        return Response("".join(eval_lines(report, args["format"])), mimetype=f"{mimetype}; charset=utf-8")


@blp.route("/export")
class Export(MethodView):
    @blp.arguments(ExportArgs(), location="query")
    @blp.response(200, ExportedPassageSchema, content_type="application/x-ndjson",
                  description="Every passage matching the filters, in reading order, streamed: one JSON "
                              "object a line (format=jsonl, the default), or text, CSV, or one JSON object.",
                  example=examples.EXPORT_JSONL)
    @alternative_formats(blp, examples.EXPORT_TEXT, examples.EXPORT_CSV, None, json_example=examples.EXPORT_JSON)
    @errors(blp, 304, 400, 401, 406, 503)
    @blp.doc(operationId="export")
    def get(self, args):
        """Every passage (filters like search), streamed: JSON Lines by default, or CSV, text, JSON

        The same rendering as `kb export --nl/--csv/--text/--json`."""
        fmt = negotiate(args["format"], EXPORT_FORMATS)
        keep = kept_fields(args, EXPORT_FIELDS, fmt)
        passages = narrowed(get_kb().export(filters_from(args), metadata_from(args)), keep)
        return stream(passages, fmt, color=args["color"], key="passages", filename="passages")


@blp.route("/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgs(), location="query")
    @blp.response(200, SuggestResponseSchema, example=examples.SUGGEST)
    @errors(blp, 304, 401)
    @blp.doc(operationId="suggest")
    def get(self, args):
        """Completions of the last word and a did-you-mean, with the hits each would give"""
        return {"query": args["q"], **get_kb().suggest(args["q"], args["limit"])}
