"""``kb serve``'s idle work (api.kbstore.keep_warm): each index version is read once, before a search
asks, so the search that follows finds the facet table made."""
from __future__ import annotations

from api import kbstore
from kb.models import Document


def test_an_idle_worker_reads_each_index_version_once(writable_app):
    with writable_app.app_context():
        kb = kbstore.get_kb()
    passes = []
    iter_cards = kb.index.iter_cards
    kb.index.iter_cards = lambda: passes.append(1) or iter_cards()
    assert kbstore.keep_warm(writable_app) is True and len(passes) == 1
    assert kbstore.keep_warm(writable_app) is False
    answer = writable_app.test_client().get("/api/v1/search?q=science")
    assert answer.status_code == 200 and answer.get_json()["facets"]["tags"]
    assert len(passes) == 1                       # the search found the table warm
    kb.ingest([Document(id="new-report", title="New", text="A new report on science diplomacy.")])
    assert kbstore.keep_warm(writable_app) is True and len(passes) == 2
