"""Tags in a document's context: single words count only in the field, capitals in a shouting
sentence are no acronym, and a topic present in a document reaches the passages that refer to it
indirectly (context phrases, "the <head>" of a full name, a section heading), with evidence."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from kb.tagging import Tagger, Taxonomy, default_taxonomy_path


@dataclass
class P:
    text: str
    section: str = ""


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(Taxonomy.load(default_taxonomy_path()))


def document(tagger, title, *texts, sections=None):
    passages = [P(t, (sections or {}).get(i, "")) for i, t in enumerate(texts)]
    return tagger.tag_document(title, passages)


# ----------------------------------------------------------------------------- out of the field

@pytest.mark.parametrize("text", [
    "Threads cooperate through shared data protected by a mutex; cooperation between processes needs a channel.",
    "If the compiler chokes on the macro, the build fails and nothing is written.",
    "IN NO EVENT WILL ANY COPYRIGHT HOLDER, OR ANY OTHER PARTY WHO MAY MODIFY THE PROGRAM, BE LIABLE.",
    "Add decoupling capacitors close to the power pins of the microcontroller.",
    "The military time display switches to a 24-hour clock when the setting is on.",
    "Asyncio relies on cooperative multitasking: a coroutine yields at every await.",
])
def test_senses_outside_the_field_do_not_fire(tagger, text):
    assert tagger.tag(text)[0] == []
    assert document(tagger, "Manual", text, text)[0][0] == []


def test_a_single_word_counts_with_other_vocabulary_of_the_field(tagger):
    assert "international-cooperation" in tagger.tag("Cooperation between China and Brazil on satellites grew.")[0]
    assert "international-cooperation" not in tagger.tag("Cooperation between the two teams grew.")[0]
    # in a document of the field, the word counts on its own
    tags = document(tagger, "Science diplomacy in the Arctic",
                    "Science diplomacy helped the Arctic states keep talking through the Arctic Council.",
                    "Cooperation continued even in the hardest years.")
    assert "international-cooperation" in tags[1][0]


def test_acronyms_in_a_shouting_sentence_are_no_acronyms(tagger):
    assert tagger.tag("THE PROGRAM IS PROVIDED AS IS BY THOSE WHO WROTE IT.")[0] == []
    assert "public-health" in tagger.tag("WHO declared the mpox outbreak a global health emergency.")[0]


def test_codes_of_letters_and_digits_are_strong(tagger):
    assert "global-governance" in tagger.tag("Zambia restructured its debt under the G20 Common Framework.")[0]


# ----------------------------------------------------------------------------- context

def test_the_virus_in_a_covid_document(tagger):
    tags = document(tagger, "The COVID-19 response in Southeast Asia",
                    "COVID-19 reached Vietnam in January 2020, and the government closed its border with China.",
                    "By the summer the virus had spread to every province, and hospitals ran short of oxygen.")
    assert "covid-19" in tags[1][0]
    evidence = [e for e in tags[1][1] if e.tag == "covid-19"]
    assert evidence[0].source == "context" and evidence[0].phrase == "the virus" and evidence[0].via == "title"


def test_context_needs_the_topic_present_in_the_document(tagger):
    tags = document(tagger, "A mountain village", "The village school opened in 1950.",
                    "By the summer the virus had spread to every farm, said the vet.")
    assert "covid-19" not in tags[1][0]


def test_a_full_name_then_its_head(tagger):
    tags = document(tagger, "China's Belt and Road in South Asia",
                    "The Belt and Road Initiative financed ports in Pakistan and Sri Lanka.",
                    "Critics say the initiative left Sri Lanka with debts it could not pay.")
    assert "chinese-diplomacy" in tags[1][0]
    assert any(e.source == "context" and e.phrase == "the initiative" for e in tags[1][1])


def test_a_section_heading_reaches_its_passages(tagger):
    tags = document(tagger, "Annual report", "The office moved to a new building in March.",
                    "Two new staff members joined the team in May.",
                    sections={1: "Report > Climate change and the Paris Agreement"})
    assert "climate-change" in tags[1][0] and "climate-change" not in tags[0][0]
    assert any(e.source == "context" and e.via.startswith("section: ") for e in tags[1][1])


def test_an_acronym_spelled_out_as_something_else_is_not_the_topics(tagger):
    tags = document(tagger, "Seabed mining applications",
                    "American Metal Resources (AMR) applied for an exploration licence under the law of the sea.",
                    "AMR said that the United Nations body had no say over its national security case.")
    assert all("public-health" not in t for t, _ in tags)
    kept = document(tagger, "Health", "The World Health Organization (WHO) declared the epidemic over.",
                    "WHO officials met United Nations envoys in Geneva.")
    assert "public-health" in kept[1][0]
