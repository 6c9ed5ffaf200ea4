"""Tagging: the real default taxonomy and small taxonomy files, on hand-made and real passages."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.tagging import Tagger, Taxonomy, TaxonomyError, check_taxonomy, default_taxonomy_path

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "data" / "science-diplomacy.txt"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(Taxonomy.load(default_taxonomy_path()))


def tags_of(tagger: Tagger, text: str) -> list[str]:
    return tagger.tag(text)[0]


def write(tmp_path: Path, body: str, name: str = "taxonomy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def assert_evidence_cites(text: str, evidence) -> None:
    for e in evidence:
        assert 0 <= e.start < e.end <= len(text)
        assert text[e.start:e.end] == e.phrase


# ----------------------------------------------------------------------------- matching rules

def test_capital_us_is_case_sensitive(tagger):
    assert "us-china-relations" in tags_of(tagger, "Officials in the US accused China of dumping steel.")
    assert "us-china-relations" in tags_of(tagger, "The U.S.-China science agreement was renewed.")
    assert "us-china-relations" not in tags_of(tagger, "Let us look at China's new five-year plan.")
    assert "us-china-relations" not in tags_of(tagger, "Tell us what China will do next.")


def test_capital_who_is_case_sensitive(tagger):
    assert "public-health" in tags_of(tagger, "WHO declared the mpox emergency over.")
    assert tags_of(tagger, "Those who declared victory early were wrong.") == []


def test_capitals_inside_a_phrase_and_ampersand_tokens(tagger):
    assert "science-diplomacy" in tags_of(tagger, "Her office handles S&T diplomacy with Brazil.")
    assert "science-policy" in tags_of(tagger, "Business spending on R&D rose by 4 percent, the science ministry said.")
    assert "science-policy" not in tags_of(tagger, "They ran a quick r&d of the plan before the talks with China.")


def test_stemming_matches_inflections(tagger):
    for text in ("Aid to developing countries fell.", "Every developing country needs labs.",
                 "Developing nations asked for more time."):
        tags, evidence = tagger.tag(text)
        assert "developing-countries" in tags, text
        assert_evidence_cites(text, evidence)
    assert "international-cooperation" in tags_of(tagger, "Under a bilateral agreement, the two agencies are "
                                                          "cooperating on data.")


def test_overstemmed_words_and_acronyms_do_not_match(tagger):
    # Snowball gives internal/international and organ/organization one stem
    assert tags_of(tagger, "The internal organization of the cell changes.") == []
    assert "international-cooperation" in tags_of(tagger, "They joined international organizations.")
    # "immune" shares a stem with "immunization", "aid" with "AIDS"
    assert "public-health" not in tags_of(tagger, "The immune cells respond within hours.")
    assert "public-health" in tags_of(tagger, "Immunization rates fell and children were not vaccinated.")
    tags = tags_of(tagger, "The International AIDS Society met in Munich to discuss the epidemic.")
    assert "public-health" in tags and "foreign-aid" not in tags
    assert "foreign-aid" in tags_of(tagger, "International aid to Sudan collapsed.")
    # an acronym in the text still matches a synonym written in title case
    assert "military-security" in tags_of(tagger, "NATO and Nato mean the same alliance.")


def test_hyphen_and_space_variants_match_alike(tagger):
    for text in ("the awareness of geo-competition", "the awareness of geo competition",
                 "the awareness of geo\u2013competition"):
        tags, evidence = tagger.tag(text)
        assert "geopolitics" in tags, text
        assert [e.phrase for e in evidence if e.tag == "geopolitics"] == [text[len("the awareness of "):]]
    text = "Funding for low- and middle-income countries was cut."
    tags, evidence = tagger.tag(text)
    assert "developing-countries" in tags
    assert [e.phrase for e in evidence if e.tag == "developing-countries"] == ["low- and middle-income countries"]


def test_phrases_do_not_cross_sentence_punctuation(tagger):
    assert "developing-countries" not in tags_of(tagger, "Their economy keeps developing. Countries nearby watch.")
    assert "developing-countries" not in tags_of(tagger, "It is still developing; countries nearby watch.")
    assert "public-health" not in tags_of(tagger, "A public, health-minded debate.")
    assert "public-health" in tags_of(tagger, "A debate on public\nhealth.")


def test_exclude_cancels_the_hits_it_covers(tagger):
    assert "developing-countries" not in tags_of(tagger, "Developed countries pledged new funds.")
    assert "developing-countries" not in tags_of(tagger, "Most developed nations agreed.")
    assert "developing-countries" in tags_of(tagger, "The least developed countries asked for debt relief.")
    text = "Developed countries promised to help developing countries adapt."
    tags, evidence = tagger.tag(text)
    assert "developing-countries" in tags
    assert [e.phrase for e in evidence if e.tag == "developing-countries"] == ["developing countries"]
    assert "military-security" not in tags_of(tagger, "in politics, economy and military affairs")
    assert "public-health" not in tags_of(tagger, "After the outbreak of war, trade collapsed.")


def test_all_of_needs_every_group(tagger):
    text = "Officials in Washington and Beijing traded accusations over the balloon."
    tags, evidence = tagger.tag(text)
    assert "us-china-relations" in tags
    assert {e.phrase for e in evidence if e.tag == "us-china-relations"} == {"Washington", "Beijing"}
    assert_evidence_cites(text, evidence)
    assert "us-china-relations" not in tags_of(tagger, "Officials in Washington traded accusations.")
    assert "us-china-relations" not in tags_of(tagger, "Officials in Beijing traded accusations.")
    # "Latin America" is excluded from the United States group
    assert "us-china-relations" not in tags_of(tagger, "China is Latin America's largest trading partner.")


def test_min_hits_and_overlapping_synonyms(tmp_path):
    path = write(tmp_path, """
        version: 1
        name: t
        topics:
          fusion:
            label: Fusion
            synonyms: [fusion, fusion energy, tokamak]
            min_hits: 2
          only-groups:
            label: Groups only
            all_of:
              - [red]
              - [blue, green]
        """)
    tagger = Tagger(Taxonomy.load(path))
    assert tagger.tag("Fusion energy is far off.")[0] == []          # one mention, counted once
    tags, evidence = tagger.tag("Fusion energy needs a tokamak.")
    assert tags == ["fusion"]
    assert [(e.phrase, e.start) for e in evidence] == [("Fusion energy", 0), ("tokamak", 22)]
    assert tagger.tag("red and green")[0] == ["only-groups"]
    assert tagger.tag("red and yellow")[0] == []


def test_evidence_cites_the_text_and_tags_are_sorted(tagger):
    text = ("Sino-US tensions grew as COVID-19 spread; the WHO asked for cooperation. "
            "China\u2019s science diplomacy offered vaccines to poorer countries.")
    tags, evidence = tagger.tag(text)
    assert tags == sorted(set(tags))
    assert {"us-china-relations", "covid-19", "public-health", "international-cooperation",
            "chinese-diplomacy", "science-diplomacy", "developing-countries"} <= set(tags)
    assert_evidence_cites(text, evidence)
    assert {e.tag for e in evidence} == set(tags)
    phrases = {(e.tag, e.phrase) for e in evidence}
    assert ("covid-19", "COVID-19") in phrases and ("us-china-relations", "Sino-US") in phrases
    assert ("chinese-diplomacy", "China\u2019s science diplomacy") in phrases


def test_empty_and_punctuation_only_texts(tagger):
    assert tagger.tag("") == ([], [])
    assert tagger.tag(" ... ;; -- ") == ([], [])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["US", "us", "China's", "developing", "developed", "countries", ".", ",",
                                 "U.S.", "-", "WHO", "who", "public", "health", "COVID-19", "\u2013", "\n",
                                 "S&T", "diplomacy", "science", "Latin", "America", "é", "'s"]), max_size=40),
       st.sampled_from([" ", "", "  "]))
def test_evidence_always_cites_the_text(tagger, words, sep):
    text = sep.join(words)
    tags, evidence = tagger.tag(text)
    assert tags == sorted(set(tags))
    assert_evidence_cites(text, evidence)
    assert {e.tag for e in evidence} == set(tags)


# ----------------------------------------------------------------------------- loading and checking

def test_default_taxonomy_loads_in_file_order():
    taxonomy = Taxonomy.load(default_taxonomy_path())
    listed = taxonomy.to_list()
    ids = re.findall(r"^  ([a-z0-9-]+):\s*$", default_taxonomy_path().read_text(encoding="utf-8"), re.M)
    assert [t["tag"] for t in listed] == ids == list(taxonomy.topics)
    assert set(listed[0]) == {"tag", "label", "description", "broader"}
    assert all(t["label"] and t["description"] for t in listed)
    assert {"us-china-relations", "public-health", "covid-19", "developing-countries"} <= set(ids)


def test_default_taxonomy_passes_the_check():
    assert check_taxonomy(default_taxonomy_path()) == []


def test_load_reports_bad_yaml_with_line(tmp_path):
    path = write(tmp_path, """
        version: 1
        name: t
        topics:
          foo:
            label: Foo
            synonyms: [a, b
        """)
    with pytest.raises(TaxonomyError) as err:
        Taxonomy.load(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: invalid YAML", str(err.value))
    assert "\n" not in str(err.value)


def test_load_reports_invalid_topic_with_line(tmp_path):
    path = write(tmp_path, """
        version: 1
        name: t
        topics:
          foo:
            label: Foo
            synonym: [a]
        """)
    with pytest.raises(TaxonomyError, match=rf"^{re.escape(str(path))}:6: topic 'foo': unknown key 'synonym'"):
        Taxonomy.load(path)
    with pytest.raises(TaxonomyError, match="cannot read"):
        Taxonomy.load(tmp_path / "missing.yaml")


def test_check_finds_each_problem_on_its_line(tmp_path):
    path = write(tmp_path, """
        version: 1
        name: t
        topics:
          foo:
            label: Foo
            synonym: [x]
            synonyms: [developing country]
          bar:
            label: Bar
            broader: [nowhere]
            synonyms: [developing countries, solar]
          foo:
            label: Foo again
            synonyms: [z]
          Bad_Id:
            synonyms: [w]
            min_hits: two
          baz:
            label: Baz
            synonyms: solar power
        """)
    problems = check_taxonomy(path)
    name = str(path)
    expected = [
        f"{name}:6: topic 'foo': unknown key 'synonym'",
        f"{name}:10: topic 'bar': broader topic 'nowhere' does not exist",
        f"{name}:11: warning: topic 'bar': synonym 'developing countries' also claimed by topic 'foo'",
        f"{name}:12: duplicate topic id 'foo' (first on line 4)",
        f"{name}:15: topic 'Bad_Id': bad id",
        f"{name}:15: topic 'Bad_Id': missing label",
        f"{name}:17: topic 'Bad_Id': 'min_hits' must be an integer",
        f"{name}:20: topic 'baz': 'synonyms' must be a list",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)
    assert check_taxonomy(path, warnings=False) == [p for p in problems if ": warning: " not in p]


def test_check_reports_yaml_errors_instead_of_raising(tmp_path):
    path = write(tmp_path, "topics: [unclosed\n")
    [problem] = check_taxonomy(path)
    assert problem.startswith(f"{path}:") and "invalid YAML" in problem
    problems = check_taxonomy(write(tmp_path, "- a list\n", "list.yaml"))
    assert problems[0].endswith("must be a mapping with 'version', 'name' and 'topics'")


# ----------------------------------------------------------------------------- the sample corpus

def sample_passages() -> list[str]:
    text = SAMPLE.read_text(encoding="utf-8")
    title = text.splitlines()[0].strip()
    try:
        from kb.split import split_text
    except ImportError:   # the splitter is optional for this test: pack paragraphs into ~120 words
        paragraphs = [p for p in text.split("\n\n")[1:] if len(p.split()) > 3 and p.strip() != title]
        passages, current = [], []
        for paragraph in paragraphs:
            current.append(paragraph.strip())
            if sum(len(p.split()) for p in current) >= 100:
                passages.append(" ".join(current))
                current = []
        return passages + ([" ".join(current)] if current else [])
    return [p.text for p in split_text(text, "science-diplomacy", title)]


def test_every_sample_passage_gets_a_tag_and_covid_only_where_mentioned(tagger):
    passages = sample_passages()
    assert len(passages) >= 5
    counts: dict[str, int] = {}
    for text in passages:
        tags, evidence = tagger.tag(text)
        assert tags, text
        assert_evidence_cites(text, evidence)
        assert ("covid-19" in tags) == ("covid" in text.lower()), text
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    assert counts.get("covid-19") == 1
    assert {"science-diplomacy", "us-china-relations", "developing-countries", "public-health"} <= set(counts)


# ----------------------------------------------------------------------------- unseen texts of the field

UNSEEN = [
    ("""The World Health Organization said that more than 30 countries in sub-Saharan Africa have introduced
     the malaria vaccine into routine immunization programmes. WHO officials warned that outbreaks of measles
     and cholera are stretching fragile health systems.""",
     {"public-health", "developing-countries"}, {"covid-19", "military-security"}),
    ("""The Arctic Council brings together the eight Arctic states and six Indigenous Peoples' organizations.
     Its working groups have produced authoritative scientific assessments of sea ice loss and thawing
     permafrost, and scientists from Russia and the West kept sharing data even when political relations
     were frozen, a classic example of science diplomacy.""",
     {"climate-change", "science-diplomacy", "international-cooperation"}, {"us-china-relations", "military-security"}),
    ("""CERN was founded in 1954 to rebuild European physics after the war, and today more than 12,000
     scientists of over 110 nationalities work on its experiments. The laboratory is often cited as a model
     of international scientific cooperation between countries that were otherwise rivals.""",
     {"international-cooperation"}, {"military-security", "geopolitics", "public-health"}),
    ("""In October 2022 the Commerce Department announced sweeping export controls on advanced semiconductors
     and chipmaking equipment bound for China, adding dozens of Chinese firms to the Entity List. Beijing
     condemned the measures and vowed to accelerate its drive for self-reliance.""",
     {"technology-decoupling", "us-china-relations"}, {"climate-change", "public-health"}),
    ("""Negotiators in Dubai agreed to transition away from fossil fuels in energy systems, the first time a
     COP decision has named them. Small island developing states said the text did not go far enough to keep
     warming below 1.5C.""",
     {"climate-change", "developing-countries"}, {"military-security", "us-china-relations"}),
    ("""The Justice Department ended the China Initiative in 2022 after critics argued it had fostered racial
     profiling of Chinese American scientists. Several prosecutions of researchers for failing to disclose
     ties to Chinese talent programs collapsed, and the episode chilled scientific exchanges.""",
     {"research-security", "us-china-relations"}, {"public-health", "climate-change"}),
    ("""NATO defence ministers met in Brussels to discuss troop deployments on the alliance's eastern flank and
     a new target for defence spending. The Pentagon said it would rotate an armoured brigade through Poland.""",
     {"military-security"}, {"public-health", "science-diplomacy", "climate-change"}),
    ("""When Covid vaccines became available, rich countries secured most of the early doses, leaving low- and
     middle-income countries waiting for months. The COVAX facility, backed by Gavi and the WHO, struggled to
     deliver the doses it had promised.""",
     {"covid-19", "public-health", "developing-countries"}, {"military-security", "technology-decoupling"}),
    ("""Zambia restructured $6.3 billion of sovereign debt under the G20 Common Framework. Every volunteer at
     the clinic completed a first aid course, and the club's governance is handled by an elected committee.""",
     {"global-governance"}, {"sovereignty", "foreign-aid"}),
    ("""In the current political climate, few members of the committee want to be seen defending the budget.
     Let us be clear: those who wrote the report did not consult us, and the defense lawyers agreed.""",
     set(), {"climate-change", "public-health", "us-china-relations", "military-security"}),
]


@pytest.mark.parametrize("text, required, forbidden", UNSEEN, ids=[f"unseen-{i}" for i in range(len(UNSEEN))])
def test_tags_on_unseen_texts_of_the_field(tagger, text, required, forbidden):
    text = " ".join(text.split())
    tags, evidence = tagger.tag(text)
    assert required <= set(tags), (sorted(required - set(tags)), evidence)
    assert not forbidden & set(tags), [e for e in evidence if e.tag in forbidden]


def test_a_recipe_gets_no_tags(tagger):
    recipe = ("Heat the olive oil in a heavy pan, add the chopped onions and cook them slowly for twenty minutes "
              "until golden. Stir in the garlic, a pinch of salt and the tomatoes, and let the sauce simmer while "
              "you boil the pasta. Our family has made this recipe every Sunday; serve it with grated cheese.")
    assert tagger.tag(recipe) == ([], [])
