"""Text analysis shared by both engines: the analyzer chain (``analysis``), its per-word memo
(``memo_analyzer``), finding a query's terms in a passage (``term_finder``) and snippets
(``highlight``)."""
