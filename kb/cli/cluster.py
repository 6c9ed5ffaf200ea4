"""``kb cluster``: a local development cluster of searchd nodes for the SphinxQL backend.
Thin: the work is in ``index.sphinx.cluster``."""
from __future__ import annotations

import sys

import click

from index.sphinx.cluster import cluster_status as node_status
from index.sphinx.cluster import load_nodes, start_cluster, stop_cluster
from index.sphinx.config import nodes_value

from .options import friendly_errors, setting_option, settings


@click.group()
def cluster():
    """A local development cluster of searchd processes (Sphinx) for KB_BACKEND=sphinx."""


cluster_dir_option = setting_option("cluster_dir", type=click.Path(file_okay=False),
                                    help="Where the nodes' configs, data and logs live.")


@cluster.command("start")
@click.option("--shards", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--replicas", type=click.IntRange(1, 8), default=2, show_default=True, help="Mirrors per shard.")
@cluster_dir_option
@friendly_errors
def cluster_start(shards, replicas):
    """Write the configs, start shards × replicas searchd on loopback, print KB_SPHINX_NODES."""
    directory = settings().cluster_dir
    nodes = start_cluster(directory, shards=shards, replicas=replicas)
    click.echo(f"kb: started {len(nodes)} searchd nodes ({shards} shards x {replicas} mirrors) in {directory}",
               err=True)
    click.echo(f"KB_SPHINX_NODES={nodes_value(nodes)}")


@cluster.command("stop")
@cluster_dir_option
@friendly_errors
def cluster_stop():
    """Stop the cluster's searchd processes (by their recorded pids)."""
    directory = settings().cluster_dir
    stopped = stop_cluster(directory)
    click.echo(f"stopped {len(stopped)} searchd nodes" + (f": {', '.join(n.name for n in stopped)}" if stopped else ""))


@cluster.command("status")
@cluster_dir_option
@friendly_errors
def cluster_status():
    """Each node: shard, mirror, address, pid, running and answering, rows."""
    directory = settings().cluster_dir
    rows = node_status(directory)
    for row in rows:
        state = "answering" if row["answering"] else "running" if row["running"] else "down"
        click.echo(f"{row['name']:<6} shard {row['shard']} mirror {row['replica']}  {row['address']:<21} "
                   f"pid {row['pid']:<7} {state:<9} rows {row['rows'] if row['rows'] is not None else '-'}")
    click.echo(f"KB_SPHINX_NODES={nodes_value(load_nodes(directory))}")
    if not all(row["answering"] for row in rows):
        sys.exit(1)
