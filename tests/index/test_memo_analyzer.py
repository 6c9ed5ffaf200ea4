"""The memoizing analyzer yields exactly the tokens of the analyzer it wraps."""
from __future__ import annotations

from whoosh.analysis import StopFilter

from index.text.analysis import text_analyzer
from index.text.memo_analyzer import MemoAnalyzer
from kb.core import SAMPLE_PATH

TEXTS = [
    SAMPLE_PATH.read_text(encoding="utf-8"),
    "China's U.S. policy: COVID-19, Indo-Pacific — naïve café, Ｆｕｌｌｗｉｄｔｈ ﬁnance; it’s 3.5% of O'Brien's.",
    "Vaccines vaccinated VACCINATION running runs ran; e.g. i.e. a.b.c. ''' ’’ 's",
    "Call fs.readFileSync(path) or os.path.join(a, b) in Node.js v1.2: U.S. style, section 3.5.",
]


def tokens(analyzer, text, **kwargs):
    return [(t.text, t.pos, t.startchar, t.endchar, t.boost, t.stopped, getattr(t, "original", None))
            for t in analyzer(text, positions=True, chars=True, **kwargs)]


def test_same_tokens_in_every_mode_twice_over():
    plain, memo = text_analyzer(), MemoAnalyzer(text_analyzer())
    assert memo.exact
    for text in TEXTS:
        for kwargs in ({}, {"mode": "query"}, {"mode": "index"}, {"no_morph": True}, {"removestops": False},
                       {"keeporiginal": True, "start_pos": 3, "start_char": 10}, {"tokenize": False}):
            expected = tokens(plain, text, **kwargs)
            assert tokens(memo, text, **kwargs) == expected   # learning
            assert tokens(memo, text, **kwargs) == expected   # remembered


def test_an_unknown_filter_makes_it_step_aside():
    chain = text_analyzer() | StopFilter()
    memo = MemoAnalyzer(chain)
    assert not memo.exact
    assert tokens(memo, TEXTS[1]) == tokens(chain, TEXTS[1])


def test_terms_and_spans_are_the_tokens_without_token_objects():
    plain, memo = text_analyzer(), MemoAnalyzer(text_analyzer())
    for text in TEXTS[:-1]:
        for _ in range(2):   # learning, then remembered
            terms, starts, ends = memo.terms_and_spans(text)
            assert len(terms) == len(starts) == len(ends)
            kept = [(term, pos, starts[pos], ends[pos]) for pos, term in enumerate(terms) if term is not None]
            assert kept == [(t.text, t.pos, t.startchar, t.endchar)
                            for t in plain(text, positions=True, chars=True, mode="index")]
    assert MemoAnalyzer(text_analyzer() | StopFilter()).terms_and_spans(TEXTS[1]) is None
    assert memo.terms_and_spans(TEXTS[-1]) is None   # dotted identifiers: several terms for one word


def test_snippets_through_the_memo_equal_the_plain_analyzers():
    from whoosh.qparser import QueryParser

    from index.schema import make_schema
    from index.text.highlight import Highlighter, match_plan

    parser = QueryParser("content", make_schema())
    plain, memo = Highlighter(text_analyzer()), Highlighter(MemoAnalyzer(text_analyzer()))
    marked = 0
    for q in ["china policy", '"public health" covid', '"science diplomacy"~3 states', "vaccines -finance",
              "naïve cafe O'Brien", "u.s. 3.5"]:
        plan = match_plan(parser.parse(q))
        for text in TEXTS:
            snippet = memo.snippet(text, plan)
            assert snippet == plain.snippet(text, plan)
            marked += "<mark>" in snippet
    assert marked >= 8
