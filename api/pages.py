"""Pages for people: the search page at ``/`` and a passage in its context at ``/passage/<id>``.
Server-rendered (Jinja), no script, no external asset; they call the same KnowledgeBase methods as
the API and the CLI."""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import make_response, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from markupsafe import Markup

from index import Filters, QueryError, SearchRequest
from kb.output import unicode_safe

from .kbstore import get_kb
from .openapi import errors
from .resources import passage_or_404

blp = Blueprint("pages", __name__, description="Pages for people (HTML)")

PAGE_SIZE = 10
MAX_TAGS = 20
MAX_FACETS = 100   # the most frequent tags listed; a store of 10,000 tags must not make every page megabytes
HTML = {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}
_NOT_A_MARK = re.compile(r"<(?!/?mark>)")
PAGE_PARAMETERS = [
    {"in": "query", "name": "q", "schema": {"type": "string", "maxLength": 1000},
     "description": "Query, as for /api/v1/search.", "example": "public health"},
    {"in": "query", "name": "tag", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "Selected tag facets (repeatable)."},
    {"in": "query", "name": "mode", "schema": {"type": "string", "enum": ["all", "any"], "default": "all"},
     "description": "Passages must carry all the selected tags, or any of them."},
    {"in": "query", "name": "offset", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


@blp.app_template_filter("marks")
def marks(snippet: str) -> Markup:
    """A snippet from the index is escaped HTML with only <mark> tags; anything else that looks like a
    tag is escaped again, so a snippet can never open another element."""
    return Markup(_NOT_A_MARK.sub("&lt;", snippet or ""))


def page_url(**params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "", [], 0) and not (k == "mode" and v == "all")}
    return "/?" + urlencode(params, doseq=True) if params else "/"


def _html(body: str, status: int = 200):
    response = make_response(unicode_safe(body).encode("utf-8"), status)
    response.mimetype = "text/html"
    return response


def _links(q: str, tags: list[str], mode: str, offset: int, total: int, facets: dict[str, int],
           hits: list[dict]) -> dict:
    """Every link the search page shows, computed here so the template only prints them: the tag
    facets (selected first, each with the URL that ticks or unticks it), the all/any switch and
    the pages before and after."""
    selected = set(tags)

    def toggle(tag: str) -> str:
        chosen = [t for t in tags if t != tag] if tag in selected else tags + [tag]
        return page_url(q=q, tag=chosen, mode=mode)

    counts = {**{tag: 0 for tag in tags}, **facets}
    ordered = sorted(counts.items(), key=lambda tn: (tn[0] not in selected, -tn[1], tn[0]))
    ordered = ordered[:max(MAX_FACETS, len(selected))]
    shown = {tag for hit in hits for tag in hit["tags"]} | {tag for tag, _ in ordered}
    return {"selected": selected, "facets": [(tag, count, toggle(tag)) for tag, count in ordered],
            "toggle_url": {tag: toggle(tag) for tag in shown},
            "mode_urls": {m: page_url(q=q, tag=tags, mode=m) for m in ("all", "any")},
            "next_url": page_url(q=q, tag=tags, mode=mode, offset=offset + PAGE_SIZE)
            if offset + PAGE_SIZE < total else None,
            "prev_url": page_url(q=q, tag=tags, mode=mode, offset=max(0, offset - PAGE_SIZE)) if offset else None}


@blp.route("/")
class SearchPage(MethodView):
    @blp.doc(parameters=PAGE_PARAMETERS, responses=HTML)
    @blp.response(200, description="The search page", content_type="text/html")
    @errors(blp, 304, 401)
    def get(self):
        """The search page: a search box, tag facets to click (all/any), highlighted results"""
        q = request.args.get("q", "")[:1000].strip()
        mode = "any" if request.args.get("mode") == "any" else "all"
        tags = list(dict.fromkeys(t for t in request.args.getlist("tag") if t.strip()))[:MAX_TAGS]
        offset = request.args.get("offset", "0")
        # isdecimal, not isdigit: '²' is a digit that int() refuses; past 5 digits the cap applies anyway
        offset = min(int(offset), 10_000) if offset.isdecimal() and len(offset) <= 5 else 0
        kb = get_kb()
        topics = {t["tag"]: t for t in kb.tags()}
        hits, total, error, notice = [], 0, None, None
        facets = {t: topic["count"] for t, topic in topics.items() if topic["count"]}
        if q or tags:
            filters = Filters(tags=tuple(tags)) if mode == "all" else Filters(any_tags=tuple(tags))
            try:   # one call: the hits with their neighbours, and (any) the facets before the tag filter
                response = kb.search(SearchRequest(q=q, filters=filters, limit=PAGE_SIZE, offset=offset),
                                     neighbours=True, facets_before_tag_filters=mode == "any")
            except QueryError as exc:
                error = str(exc)
            else:
                hits, total, notice = response.hits, response.total, response.notice
                facets = response.facets.get("tags", {})
        body = render_template(
            "search.html", stats=kb.stats() if not (q or tags) else {}, q=q, tags=tags, mode=mode, hits=hits,
            total=total, offset=offset, error=error, notice=notice, topics=topics,
            **_links(q, tags, mode, offset, total, facets, hits))
        return _html(body)


@blp.route("/passage/<path:passage_id>")
class PassagePage(MethodView):
    @blp.doc(responses=HTML)
    @blp.response(200, description="A passage between its neighbours", content_type="text/html")
    @errors(blp, 304, 401, 404)
    def get(self, passage_id):
        """A passage in its context: the passages before and after it, its tags and links to its JSON"""
        kb = get_kb()
        passage = passage_or_404(passage_id)
        previous = kb.get_passage(passage["previous"]) if passage.get("previous") else None
        following = kb.get_passage(passage["next"]) if passage.get("next") else None
        topics = {t["tag"]: t for t in kb.tags()}
        body = render_template("passage.html", passage=passage, previous=previous, following=following,
                               topics=topics, tag_urls={t: page_url(tag=[t]) for t in passage["tags"]})
        return _html(body)
