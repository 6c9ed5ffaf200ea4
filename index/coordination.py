"""The coordination bonus: a passage that matches more of a query's words ranks higher (Whoosh's
"SQR" bonus, made safe)."""
from __future__ import annotations

from whoosh import matching, query


class CoordMatcher(matching.CoordMatcher):
    """Whoosh's "SQR" coordination bonus, ``score + (matched - 1) / (terms - scale)²``, without its
    degenerate case: when one term of the query is in the index, Whoosh multiplies every score
    by (terms - 1) / terms = 0 and the ranking is lost."""

    def _sqr(self, score, matching):
        terms = self._termcount
        return score if terms <= 1 else score + (matching - 1) / (terms - self._scale) ** 2


class CoordOr(query.Or):
    """A disjunction whose documents get a bonus for matching more of its terms."""

    def _matcher(self, subs, searcher, context):
        plain = query.Or(subs, boost=self.boost)
        plain.matcher_type = query.Or.DEFAULT_MATCHER   # a tree of unions: it can say which terms matched
        m = plain._matcher(subs, searcher, context)
        if self.scale and sum(1 for _ in m.term_matchers()) > 1:
            m = CoordMatcher(m, scale=self.scale)
        return m


def with_coord(q, scale: float | None):
    """The coordination bonus on every disjunction (set last: rewriting queries drops it)."""
    if not scale or q.is_leaf():
        return q
    q = q.apply(lambda child: with_coord(child, scale))
    if type(q) is query.Or and len(q.subqueries) > 1:
        return CoordOr(q.subqueries, boost=q.boost, scale=scale)
    return q
