"""Pagination links: ``Link: <...>; rel="next"`` / ``rel="prev"`` headers and the same URLs in the body,
built from the request's own arguments so a client only follows them."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request


def page_url(offset: int) -> str:
    args = request.args.to_dict(flat=False)
    args["offset"] = [str(offset)]
    return f"{request.base_url}?{urlencode(args, doseq=True)}"


def page_links(offset: int, limit: int, total: int) -> dict[str, str | None]:
    """``{"next": url or None, "prev": url or None}`` for a page of ``limit`` from ``offset`` of ``total``."""
    return {"next": page_url(offset + limit) if offset + limit < total else None,
            "prev": page_url(max(0, offset - limit)) if offset > 0 else None}


def link_header(links: dict[str, str | None]) -> dict[str, str]:
    value = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    return {"Link": value} if value else {}
