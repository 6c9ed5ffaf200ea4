"""GET /api/v1/search and GET /api/v1/suggest."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from index.base import Filters, SearchRequest

from .kbstore import get_kb
from .schemas import SearchArgs, SearchResponseSchema, SuggestArgs, SuggestResponseSchema

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="Full-text and tag search")


def filters_from(args: dict) -> Filters:
    return Filters(tags=tuple(args.get("tag", ())), any_tags=tuple(args.get("any_tag", ())),
                   not_tags=tuple(args.get("not_tag", ())), documents=tuple(args.get("document", ())))


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SearchResponseSchema)
    def get(self, args):
        """Search passages by words and tags

        Ranked (BM25), highlighted, with tag facets over the whole filtered result set."""
        request = SearchRequest(q=args["q"], filters=filters_from(args), limit=args["limit"],
                                offset=args["offset"], group_by=args["group_by"],
                                highlight=args["highlight"], sort=args["sort"])
        response = get_kb().search(request)
        return {"query": args["q"], "total": response.total, "offset": args["offset"],
                "limit": args["limit"], "hits": response.hits, "facets": response.facets,
                "took_ms": response.took_ms, "partial": response.partial}


@blp.route("/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgs, location="query")
    @blp.response(200, SuggestResponseSchema)
    def get(self, args):
        """Completions of the last word and a did-you-mean, with the hits each would give"""
        return {"query": args["q"], **get_kb().suggest(args["q"], args["limit"])}
