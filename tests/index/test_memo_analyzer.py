"""The memoizing analyzer yields exactly the tokens of the analyzer it wraps."""
from __future__ import annotations

from whoosh.analysis import StopFilter

from index.analysis import text_analyzer
from index.memo_analyzer import MemoAnalyzer
from kb.core import SAMPLE_PATH

TEXTS = [
    SAMPLE_PATH.read_text(encoding="utf-8"),
    "China's U.S. policy: COVID-19, Indo-Pacific — naïve café, Ｆｕｌｌｗｉｄｔｈ ﬁnance; it’s 3.5% of O'Brien's.",
    "Vaccines vaccinated VACCINATION running runs ran; e.g. i.e. a.b.c. ''' ’’ 's",
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
