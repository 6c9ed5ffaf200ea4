"""``kb eval QUERIES QRELS``: the user's own judged questions against their knowledge base, modes
side by side (the same core as ``POST /api/v1/eval``)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import evaluation
from ..output import EVAL_FORMATS, eval_lines
from ..settings import SEARCH_MODES
from .options import CliError, backend_options, friendly_errors, home_option, open_kb


@click.command(name="eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("qrels", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", "modes", type=click.Choice(SEARCH_MODES), multiple=True,
              help="Search mode to measure (repeatable: the modes side by side; default lexical).")
@click.option("--group-by", type=click.Choice(evaluation.EVAL_GROUPS), default="document", show_default=True,
              help="What the judgments name: documents or passages.")
@click.option("--syntax", type=click.Choice(["auto", "query", "words"]), default="words", show_default=True,
              help="How each query is read (test questions are natural language: words).")
@click.option("--fusion", type=click.Choice(["normalized", "rrf"]), default=None,
              help="How hybrid fuses (default: the search default).")
@click.option("--format", "fmt", type=click.Choice(EVAL_FORMATS), default="text", show_default=True)
@home_option
@backend_options
@friendly_errors
def evaluate(queries, qrels, modes, group_by, syntax, fusion, fmt):
    """nDCG@10, recall@100 and MRR of judged queries (BEIR queries.jsonl; qrels.tsv or JSON Lines)."""
    try:
        judged = evaluation.judgments(evaluation.read_queries(queries.read_text(encoding="utf-8")),
                                      evaluation.read_qrels(qrels.read_text(encoding="utf-8")))
        report = open_kb().evaluate(judged, modes or ("lexical",), group_by, syntax, fusion)
    except evaluation.EvaluationError as exc:
        raise CliError(str(exc)) from None
    for chunk in eval_lines(report, fmt):
        sys.stdout.write(chunk)
