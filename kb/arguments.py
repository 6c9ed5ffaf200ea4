"""The API's argument names (``tag``, ``any_tag``, ``not_tag``, ``document``; ``author``,
``date_from``, ``date_to``, ``source``) as the library takes them, turned into the index's filters
and the citation filters: ``kb.search("ozone", tag="treaties", author="Roe")`` means what
``/api/v1/search?q=ozone&tag=treaties&author=Roe`` means."""
from __future__ import annotations

from index import Filters

from .metadata_filters import MetadataFilters

FILTER_NAMES = ("tag", "any_tag", "not_tag", "document")
METADATA_NAMES = ("author", "date_from", "date_to", "source")


def filters_of(tag=(), any_tag=(), not_tag=(), document=()) -> Filters:
    """Filters from the API's argument names, each a name or a list of names."""
    def names(value) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)
    return Filters(tags=names(tag), any_tags=names(any_tag), not_tags=names(not_tag), documents=names(document))


def metadata_of(arguments: dict) -> MetadataFilters:
    """Author, date and source filters taken out of the API's argument names (``author``: a name
    or a list)."""
    given = {k: arguments.pop(k) for k in METADATA_NAMES if k in arguments}
    author = given.get("author", ())
    return MetadataFilters((author,) if isinstance(author, str) else tuple(author), given.get("date_from", ""),
                           given.get("date_to", ""), given.get("source", ""))
