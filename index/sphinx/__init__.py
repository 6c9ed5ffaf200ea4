"""The scale-out engine: a Sphinx or Manticore cluster over SphinxQL (``engine.SphinxIndex``), its
connections (``client``), query translation and snippets (``query``), rows (``records``),
suggestions (``suggest``), node configuration (``config``) and a local cluster (``cluster``)."""
