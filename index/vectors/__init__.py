"""Passage embeddings beside an index: their storage on disk (``store``) and the fusion of a
vector ranking with a word ranking (``fusion``)."""
