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
from kb.metadata_filters import MetadataFilters
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
MAX_AUTHORS = 10   # author filters on one page
AUTHOR_FACETS = 10
PAGE_PARAMETERS = [
    {"in": "query", "name": "q", "schema": {"type": "string", "maxLength": 1000},
     "description": "Query, as for /api/v1/search.", "example": "public health"},
    {"in": "query", "name": "tag", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "Selected tag facets (repeatable)."},
    {"in": "query", "name": "mode", "schema": {"type": "string", "enum": ["all", "any"], "default": "all"},
     "description": "Passages must carry all the selected tags, or any of them."},
    {"in": "query", "name": "author", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "Documents by any of these authors (repeatable), as for /api/v1/search."},
    {"in": "query", "name": "date_from", "schema": {"type": "string"},
     "description": "Documents dated on or after this ISO date (2020, 2020-03, 2020-03-04)."},
    {"in": "query", "name": "date_to", "schema": {"type": "string"},
     "description": "Documents dated on or before this ISO date (inclusive)."},
    {"in": "query", "name": "source", "schema": {"type": "string", "maxLength": 2000},
     "description": "Documents whose source (path or URL) starts with this."},
    {"in": "query", "name": "offset", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 22, 6, 80   # the year chart: pixels


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


def _links(state: dict, offset: int, total: int, facets: dict[str, int], hits: list[dict]) -> dict:
    """Every link the search page shows, computed here so the template only prints them: the tag
    facets (selected first, each with the URL that ticks or unticks it), the all/any switch and
    the pages before and after. Every link keeps the page's query and filters (``state``)."""
    tags = state["tag"]
    selected = set(tags)

    def url(**changes) -> str:
        return page_url(**{**state, **changes})

    def toggle(tag: str) -> str:
        return url(tag=[t for t in tags if t != tag] if tag in selected else tags + [tag])

    counts = {**{tag: 0 for tag in tags}, **facets}
    ordered = sorted(counts.items(), key=lambda tn: (tn[0] not in selected, -tn[1], tn[0]))
    ordered = ordered[:max(MAX_FACETS, len(selected))]
    shown = {tag for hit in hits for tag in hit["tags"]} | {tag for tag, _ in ordered}
    return {"selected": selected, "facets": [(tag, count, toggle(tag)) for tag, count in ordered],
            "toggle_url": {tag: toggle(tag) for tag in shown},
            "mode_urls": {m: url(mode=m) for m in ("all", "any")},
            "next_url": url(offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
            "prev_url": url(offset=max(0, offset - PAGE_SIZE)) if offset else None}


def year_chart(years: dict[str, int], state: dict) -> dict | None:
    """The year facet as bars of an inline SVG: each bar's geometry, its passage count, a label for
    screen readers and the URL that narrows the search to that year (date_from = date_to = year)."""
    if not years:
        return None
    most = max(years.values())
    bars = []
    for i, (year, count) in enumerate(sorted(years.items())):
        height = max(2, round(CHART_HEIGHT * count / most))
        bars.append({"year": year, "count": count, "x": i * (BAR_WIDTH + BAR_GAP), "y": CHART_HEIGHT - height,
                     "height": height, "label": f"{year}: {count} passage{'' if count == 1 else 's'}",
                     "url": page_url(**{**state, "date_from": year, "date_to": year})})
    return {"bars": bars, "width": len(bars) * (BAR_WIDTH + BAR_GAP) - BAR_GAP, "height": CHART_HEIGHT + 16,
            "bar_width": BAR_WIDTH, "base": CHART_HEIGHT}


def author_links(authors: dict[str, int], state: dict) -> list[tuple[str, int, str, bool]]:
    """The most cited authors of the hits, each with the URL that adds (or, chosen, removes) it as a filter."""
    chosen = state["author"]
    listed = sorted(authors.items(), key=lambda an: (-an[1], an[0]))[:AUTHOR_FACETS]
    return [(name, count, page_url(**{**state, "author": [a for a in chosen if a != name] if name in chosen
                                      else chosen + [name]}), name in chosen) for name, count in listed]


@blp.route("/")
class SearchPage(MethodView):
    @blp.doc(parameters=PAGE_PARAMETERS, responses=HTML)
    @blp.response(200, description="The search page", content_type="text/html")
    @errors(blp, 304, 401)
    def get(self):
        """The search page: a search box, tag facets to click (all/any), author, date and source filters, a year
        chart, highlighted results that say how to cite them"""
        q = request.args.get("q", "")[:1000].strip()
        mode = "any" if request.args.get("mode") == "any" else "all"
        tags = list(dict.fromkeys(t for t in request.args.getlist("tag") if t.strip()))[:MAX_TAGS]
        authors = list(dict.fromkeys(a.strip()[:200] for a in request.args.getlist("author") if a.strip()))
        authors = authors[:MAX_AUTHORS]
        date_from = request.args.get("date_from", "").strip()[:40]
        date_to = request.args.get("date_to", "").strip()[:40]
        source = request.args.get("source", "").strip()[:2000]
        offset = request.args.get("offset", "0")
        # isdecimal, not isdigit: '²' is a digit that int() refuses; past 5 digits the cap applies anyway
        offset = min(int(offset), 10_000) if offset.isdecimal() and len(offset) <= 5 else 0
        state = {"q": q, "tag": tags, "mode": mode, "author": authors, "date_from": date_from, "date_to": date_to,
                 "source": source}
        metadata = MetadataFilters(tuple(authors), date_from, date_to, source)
        kb = get_kb()
        topics = {t["tag"]: t for t in kb.tags()}
        hits, total, error, notice, years, cited_authors = [], 0, None, None, None, []
        facets = {t: topic["count"] for t, topic in topics.items() if topic["count"]}
        searched = bool(q or tags or metadata)
        if searched:
            filters = Filters(tags=tuple(tags)) if mode == "all" else Filters(any_tags=tuple(tags))
            try:   # one call: the hits with their neighbours, and (any) the facets before the tag filter
                response = kb.search(SearchRequest(q=q, filters=filters, limit=PAGE_SIZE, offset=offset),
                                     neighbours=True, facets_before_tag_filters=mode == "any", metadata=metadata)
            except QueryError as exc:
                error = str(exc)
            else:
                hits, total, notice = response.hits, response.total, response.notice
                facets = response.facets.get("tags", {})
                years = year_chart(response.facets.get("year", {}), {**state, "offset": 0})
                cited_authors = author_links(response.facets.get("author", {}), state)
        body = render_template(
            "search.html", stats=kb.stats() if not searched else {}, q=q, tags=tags, mode=mode, hits=hits,
            total=total, offset=offset, error=error, notice=notice, topics=topics, searched=searched,
            authors=authors, date_from=date_from, date_to=date_to, source=source, years=years,
            cited_authors=cited_authors,
            **_links(state, offset, total, facets, hits))
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
