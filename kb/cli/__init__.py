"""The ``kb`` command: the same core as the HTTP API, from a shell. Each family of commands has
its module (``documents``: ingest, delete, rebuild, compact; ``search``: search, export, show, tags, stats;
``browse``: similar, suggest, documents; ``serve``; ``taxonomy``; ``evaluate``: eval; ``curation``:
tag; ``cluster``); the options they share live in ``options``."""
from __future__ import annotations

import click

from . import browse, cluster, curation, documents, evaluate, search, serve, taxonomy


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kb")
def main():
    """kb: a searchable knowledge base of tagged passages."""


for command in (documents.ingest, search.search, search.export, serve.serve, search.tags, search.stats,
                search.show, documents.delete, documents.rebuild, documents.compact, cluster.cluster, taxonomy.taxonomy,
                curation.tag, browse.similar, browse.suggest, browse.documents, evaluate.evaluate):
    main.add_command(command)
