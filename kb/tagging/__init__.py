"""Tag passages with taxonomy topics, keeping the matched phrases as evidence.

A taxonomy (YAML, see the header of ``kb/data/science-diplomacy.yaml``; ``taxonomy``, validated by
``check``) lists topics; each
topic has synonyms, optional ``all_of`` groups, ``exclude`` phrases and ``min_hits``.

Matching works on word atoms with character offsets:

* an atom is a run of letters/digits, with internal apostrophes and ``&`` kept
  ("China's", "S&T", "R&D"); letter-dot abbreviations are one atom ("U.S." reads as "US");
  hyphens and dashes separate atoms, so "geo-competition", "geo competition" and
  "geo–competition" are the same two atoms, and the evidence still cites "geo-competition";
* a possessive "'s" is ignored; other words are lowercased and stemmed (Snowball English,
  from whoosh) so "developing countries" matches "developing country". Snowball over-stems
  ("internal"/"international", "immune"/"immunization"), so a stem match also needs the two
  words to be close (see ``words_close``); a text word in capitals ("AIDS") is an acronym and
  matches a lowercase synonym word only when equal to it ("aid" does not match "AIDS");
* a synonym word written in capitals ("US", "WHO", "COVID-19", "S&T") matches only that exact
  surface form, so "US" never matches "us" and "WHO" never matches "who";
* a phrase never matches across sentence punctuation, commas or brackets (``. ! ? ; : , ( ) [ ]``);
* ``exclude`` phrases are matched on lowercased, unstemmed words; a synonym or ``all_of`` hit
  lying inside an exclude match does not count ("developed countries" cancels the
  "developing countries" stem match on the same words, "military affairs" cancels "military").

All phrases of all topics (synonyms, all_of groups, excludes) are compiled once into one trie
keyed by word (stem, exact form or lowercase form), and a passage is tagged in a single pass over
its atoms: at each atom the trie is walked as far as the following atoms allow.
"""
from .check import TaxonomyError, check_taxonomy
from .phrases import phrase_key, synonym_keys, synonyms_equivalent, tokenize, words_close
from .tagger import Tagger
from .taxonomy import Taxonomy, Topic, default_taxonomy_path

__all__ = ["Taxonomy", "Topic", "Tagger", "TaxonomyError", "check_taxonomy", "default_taxonomy_path",
           "tokenize", "phrase_key", "synonym_keys", "synonyms_equivalent", "words_close"]
