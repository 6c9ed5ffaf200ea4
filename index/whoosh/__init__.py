"""The embedded engine: a Whoosh index on disk (``engine.WhooshIndex``), its record layout
(``records``), collection with every match scored in bulk (``collect``, ``bulk_scoring``,
``posting_arrays``, ``postings_cache``, ``scoring``), and embeddings (``semantic``, ``hybrid``).
Importing it makes Whoosh read memory-mapped segments in place (``buffers``)."""
from . import buffers

buffers.install()
