"""The search page at / over a real server: plain HTML (no script needed), then driven in a real
headless Chromium (Debian's chromium + chromedriver, through selenium), with a screenshot saved
under test-artifacts/."""
from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import bibtexparser
import pytest
import requests

from helpers import API_TOKEN, ROOT
from helpers.servers import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = {"id": "hostile", "title": "<script>alert('title')</script> Hostile note",
           "text": "Vaccine diplomacy <img src=x onerror=alert(1)> and <script>alert('text')</script> "
                   "reached the clinics of Lagos."}
EVIL_AUTHOR = "<script>alert('author')</script> Evil"
# documents with citation records: "estuary" finds one passage of each, and every passage of atlas
CITED = [
    {"id": "roe-rivers", "title": "Rivers of Lagos", "authors": ["Jane Roe"], "date": "2019-05-01",
     "url": "https://example.org/roe/rivers", "doi": "10.1234/rivers.2019",
     "text": "The estuary of the lagoon was sampled for salinity every week of the dry season."},
    {"id": "roe-tides", "title": "Tides and mangroves", "authors": ["Jane Roe", "Zoë Müller"], "date": "2021",
     "source": "https://example.org/roe/tides", "text": "Mangroves along the estuary slowed the tides in the storm."},
    {"id": "doe-silt", "title": "Silt budgets", "authors": ["John Doe"], "date": "2021-03-04",
     "text": "Silt carried down the estuary settled behind the new harbour wall within a year."},
    {"id": "evil-author", "title": "A note with a hostile author", "authors": [EVIL_AUTHOR], "date": "2020",
     "text": "An estuary survey whose author field carries markup."},
    {"id": "atlas", "title": "An estuary atlas", "authors": ["Ann Atlas"], "date": "2018-11", "tags": ["survey"],
     "text": "\n\n".join(f"Chapter {n}. The estuary at station {n} was mapped by boat over {n + 2} days of fieldwork; "
                         "the crews noted channels, sandbanks, salt marsh edges, fish traps and the depth of "
                         "every mooring, then compared the charts with the surveys of earlier decades. "
                         * 4 for n in range(1, 13))},
]


def test_page_works_without_javascript(live_server):
    r = live_server.get("/", params={"q": "public health"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.text
    assert "<mark>public</mark> <mark>health</mark>" in page.lower()
    assert "<script" not in page.lower()
    assert not re.findall(r"""(?:src|href|action)=["']?(?:https?:)?//""", page)  # nothing from elsewhere
    assert 'href="/api/v1/passages/science-diplomacy:' in page and 'href="/passage/science-diplomacy:' in page
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none': no script at all
    css = live_server.get("/static/kb.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    faceted = live_server.get("/", params={"tag": ["covid-19", "public-health"], "mode": "any"}).text
    assert 'class="facet on" data-tag="covid-19"' in faceted
    pasted = live_server.get("/", params={"q": '"unclosed public health'})
    assert pasted.status_code == 200 and "searched as plain words" in pasted.text
    assert "<mark>public</mark>" in pasted.text.lower()
    bad = live_server.get("/", params={"q": "health\x00"})          # a NUL: refused in every syntax
    assert bad.status_code == 200 and "could not be read" in bad.text
    context = live_server.get("/passage/science-diplomacy:2").text
    assert 'rel="prev"' in context and 'rel="next"' in context
    assert live_server.get("/passage/nope:1").status_code == 404


def test_hostile_text_is_shown_never_run(token_server, auth):
    put = token_server.request("PUT", "/api/v1/documents/hostile", json=HOSTILE, headers=auth)
    assert put.status_code in (200, 201)
    page = token_server.get("/", params={"q": "Lagos"}).text
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Hostile note" in page
    context = token_server.get("/passage/hostile:1").text
    assert "<img" not in context and "&lt;img src=x onerror=alert(1)&gt;" in context


def _browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("KB_REQUIRE_BROWSER"):
            pytest.fail("KB_REQUIRE_BROWSER is set but /usr/bin/chromium or /usr/bin/chromedriver is missing")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="kb-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    return driver, profile


@pytest.fixture(scope="module")
def browser():
    driver, profile = _browser()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _navigate(browser, action) -> None:
    """Do what loads a new page (a click, Enter) and wait until the new page has replaced the old."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    old = browser.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _tags_of(server, passage_id):
    return set(server.get(f"/api/v1/passages/{passage_id}").json()["tags"])


def test_search_page_in_chromium(browser, token_server, auth):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    server = token_server
    assert server.request("PUT", "/api/v1/documents/hostile", json=HOSTILE, headers=auth).status_code in (200, 201)

    browser.get(server.url + "/")
    box = browser.find_element(By.NAME, "q")
    _navigate(browser, lambda: box.send_keys("public health", Keys.ENTER))
    hits = browser.find_elements(By.CSS_SELECTOR, "article.hit")
    expected = server.get("/api/v1/search", params={"q": "public health"}).json()
    assert len(hits) == len(expected["hits"]) > 0
    assert "q=public+health" in browser.current_url
    first = hits[0]
    marks = [m.text.lower() for m in first.find_elements(By.TAG_NAME, "mark")]
    assert marks and set(marks) <= {"public", "health"}
    mark_style = browser.execute_script(
        "return getComputedStyle(arguments[0]).backgroundColor", first.find_element(By.TAG_NAME, "mark"))
    assert mark_style not in ("rgba(0, 0, 0, 0)", "transparent")  # the stylesheet loaded and marks show
    assert first.find_element(By.CSS_SELECTOR, "h3").text == expected["hits"][0]["document"]["title"]
    hit_tags = [a.text for a in first.find_elements(By.CSS_SELECTOR, ".tags .tag")]
    assert hit_tags == expected["hits"][0]["tags"]
    json_link = first.find_element(By.CSS_SELECTOR, "a.json").get_attribute("href")
    assert json_link == f"{server.url}/api/v1/passages/{expected['hits'][0]['id']}"
    assert requests.get(json_link, timeout=30).json()["id"] == expected["hits"][0]["id"]
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "search-page.png"))

    # a tag facet to click: every result then carries it (all mode)
    facet = browser.find_element(By.CSS_SELECTOR, 'a.facet[data-tag="covid-19"]')
    _navigate(browser, facet.click)
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["covid-19"]
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "article.hit .pid")]
    assert ids and all("covid-19" in _tags_of(server, i) for i in ids)
    assert "on" in browser.find_element(By.CSS_SELECTOR, 'a.facet[data-tag="covid-19"]').get_attribute("class")

    # any mode, then a second tag: results carry one or the other
    _navigate(browser, browser.find_element(By.ID, "mode-any").click)
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, 'a.facet[data-tag="geopolitics"]').click)
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["mode"] == ["any"] and set(query["tag"]) == {"covid-19", "geopolitics"}
    any_ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "article.hit .pid")]
    assert any_ids and all(_tags_of(server, i) & {"covid-19", "geopolitics"} for i in any_ids)
    browser.save_screenshot(str(ARTIFACTS / "search-page-facets.png"))

    # context: the passage between its neighbours, and on to the next one
    # (in the sample: the one-passage hostile note, short, would rank first for "diplomacy" alone)
    browser.get(server.url + "/?q=document%3Ascience-diplomacy+AND+diplomacy")
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, "article.hit a.context").click)
    current = browser.find_element(By.CSS_SELECTOR, "section.current .where").text.split()[0]
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, 'a[rel="next"]').click)
    after = browser.find_element(By.CSS_SELECTOR, "section.current .where").text.split()[0]
    doc, ordinal = current.rsplit(":", 1)
    assert after == f"{doc}:{int(ordinal) + 1}"
    browser.save_screenshot(str(ARTIFACTS / "passage-page.png"))

    # hostile text is shown as text, nothing runs
    browser.get(server.url + "/?q=Lagos")
    hit = browser.find_element(By.CSS_SELECTOR, "article.hit")
    assert "<script>alert('title')</script> Hostile note" in hit.text
    assert browser.execute_script("return document.scripts.length") == 0
    assert not browser.find_elements(By.CSS_SELECTOR, "article.hit img")

    # nothing fetched from elsewhere, nothing refused by the page's policy, no console error
    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert set(origins) <= {server.url}
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_docs_page_in_chromium(browser, live_server):
    from selenium.webdriver.common.by import By
    browser.get(live_server.url + "/docs")
    assert browser.title.startswith("kb API")
    operations = browser.find_elements(By.CSS_SELECTOR, "section.operation")
    spec = live_server.get("/openapi.json").json()
    assert len(operations) == sum(len([m for m in item if m != "parameters"]) for item in spec["paths"].values())
    browser.save_screenshot(str(ARTIFACTS / "docs-page.png"))
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def cited_server(sample_home, tmp_path_factory):
    """A server over the sample and the CITED documents (authors, dates, sources), posted as JSON."""
    home = tmp_path_factory.mktemp("cited-kb") / "kb"
    shutil.copytree(sample_home, home)
    server = LiveServer(home, env={"KB_API_TOKEN": API_TOKEN})
    try:
        for doc in CITED:
            put = server.request("PUT", f"/api/v1/documents/{doc['id']}", json=doc,
                                 headers={"Authorization": f"Bearer {API_TOKEN}"})
            assert put.status_code in (200, 201), put.text
        yield server
    finally:
        server.stop()


def _page_links(page: str) -> list[tuple[str, str]]:
    """(class, or id when it has none, href) of every link of the page to the search page itself."""
    found = []
    for tag in re.findall(r"<a\b[^>]*>", page):
        href = re.search(r'href="(/\?[^"]*)"', tag)
        if href:
            css, ident = re.search(r'class="([^"]*)"', tag), re.search(r'id="([^"]*)"', tag)
            found.append(((css.group(1) if css else "") or (ident.group(1) if ident else ""),
                          html.unescape(href.group(1))))
    return found


def test_the_page_cites_hits_and_keeps_its_filters_in_every_link(cited_server):
    api = cited_server.get("/api/v1/search", params={"q": "estuary", "limit": 100}).json()
    atlas = len(cited_server.get("/api/v1/documents/atlas").json()["passages"])
    assert atlas >= 2 and api["total"] == 4 + atlas > 10   # one passage of each other document: two pages
    assert api["facets"]["year"] == {"2018": atlas, "2019": 1, "2020": 1, "2021": 2}
    page = cited_server.get("/", params={"q": "estuary", "author": ["atlas", "roe"], "date_from": "2018",
                                         "date_to": "2021-12", "mode": "any"}).text
    links = _page_links(page)
    kinds = {css.split()[0] if css else "" for css, _ in links}
    assert {"facet", "bar", "author-facet", "mode-all", ""} <= kinds and 'rel="next"' in page   # and paging
    for css, href in links:
        query = parse_qs(urlsplit(href).query)
        assert query["q"] == ["estuary"] and query.get("mode") == (None if css == "mode-all" else ["any"]), href
        assert query["date_from"] == (["2018"] if css != "bar" else query["date_to"]), href
        if "author-facet on" not in css:
            assert {"atlas", "roe"} <= set(query["author"]), href
    # the all/any switch and the next page keep them too
    assert any(h.startswith("/?") and "offset=10" in h and "author=atlas" in h for _, h in links)
    assert re.search(r'id="mode-all"', page) and 'value="roe"' in page and 'value="2021-12"' in page


def test_the_source_filter_narrows_the_page_and_stays_in_its_links(cited_server):
    prefix = "https://example.org/roe/"
    page = cited_server.get("/", params={"q": "estuary", "source": prefix}).text
    assert re.findall(r'<span class="pid">([^<]+)</span>', page) == ["roe-tides:1"]   # the one with that source
    assert f'value="{prefix}"' in page and f"from <q>{prefix}</q>" in page
    links = _page_links(page)
    assert links and all(parse_qs(urlsplit(href).query).get("source") == [prefix] for _, href in links)
    api = cited_server.get("/api/v1/search", params={"q": "estuary", "source": prefix}).json()
    assert [h["id"] for h in api["hits"]] == ["roe-tides:1"]


def test_an_author_with_markup_is_shown_as_text(cited_server):
    page = cited_server.get("/", params={"q": "survey markup"}).text
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#39;author&#39;)&lt;/script&gt; Evil" in page
    facet = cited_server.get("/", params={"author": EVIL_AUTHOR}).text
    assert "<script" not in facet.lower() and 'value="&lt;script&gt;alert(&#39;author&#39;)' in facet


def test_invalid_dates_on_the_page_are_said_not_500(client):
    for params in ({"q": "health", "date_from": "2020-13"}, {"date_to": "soon"}, {"q": "x", "date_from": "20"}):
        r = client.get("/", query_string=params)
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and "could not be read" in page, params
        assert "is not an ISO date" in page and 'class="hit"' not in page
    bad = client.get("/", query_string={"q": "health", "date_from": "<b>2020</b>"}).get_data(as_text=True)
    assert "<b>" not in bad and "&lt;b&gt;2020&lt;/b&gt;" in bad


def _hit(browser, passage_id):
    from selenium.webdriver.common.by import By
    for article in browser.find_elements(By.CSS_SELECTOR, "article.hit"):
        if article.find_element(By.CSS_SELECTOR, ".pid").text == passage_id:
            return article
    raise AssertionError(f"no hit {passage_id}")


def _hit_ids(browser) -> list[str]:
    from selenium.webdriver.common.by import By
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "article.hit .pid")]


def test_citations_filters_and_year_chart_in_chromium(browser, cited_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    server = cited_server
    browser.get(server.url + "/?q=salinity+OR+mangroves+OR+silt+OR+markup")
    assert sorted(_hit_ids(browser)) == ["doe-silt:1", "evil-author:1", "roe-rivers:1", "roe-tides:1"]

    # each hit says its authors, date and source, and links to its citation
    rivers = _hit(browser, "roe-rivers:1")
    assert rivers.find_element(By.CSS_SELECTOR, ".cite .authors").text == "Jane Roe"
    assert rivers.find_element(By.CSS_SELECTOR, ".cite .date").text == "2019-05-01"
    assert rivers.find_element(By.CSS_SELECTOR, ".cite .source").text == "https://example.org/roe/rivers"
    assert rivers.find_element(By.CSS_SELECTOR, ".cite .doi").text == "doi:10.1234/rivers.2019"
    tides = _hit(browser, "roe-tides:1")
    assert tides.find_element(By.CSS_SELECTOR, ".cite .authors").text == "Jane Roe; Zoë Müller"
    assert tides.find_element(By.CSS_SELECTOR, ".cite .source").text == "https://example.org/roe/tides"
    bib = requests.get(rivers.find_element(By.CSS_SELECTOR, "a.bibtex").get_attribute("href"), timeout=30)
    assert bib.status_code == 200 and bib.headers["Content-Type"].startswith("application/x-bibtex")
    library = bibtexparser.parse_string(bib.text)
    assert not library.failed_blocks and [e.key for e in library.entries] == ["roe2019rivers"]
    entry = library.entries[0].fields_dict
    assert entry["author"].value == "Roe, Jane" and entry["doi"].value == "10.1234/rivers.2019"
    assert entry["note"].value.startswith("[roe-rivers:1] The estuary of the lagoon")
    csl = requests.get(tides.find_element(By.CSS_SELECTOR, "a.csl").get_attribute("href"), timeout=30)
    assert csl.status_code == 200 and csl.headers["Content-Type"] == "application/vnd.citationstyles.csl+json"
    [item] = csl.json()
    assert item["title"] == "Tides and mangroves" and item["issued"] == {"date-parts": [[2021]]}
    assert item["author"] == [{"family": "Roe", "given": "Jane"}, {"family": "Müller", "given": "Zoë"}]

    # an author name with markup is text, and nothing runs
    evil = _hit(browser, "evil-author:1")
    assert evil.find_element(By.CSS_SELECTOR, ".cite .authors").text == EVIL_AUTHOR
    assert browser.execute_script("return document.scripts.length") == 0

    # the year chart: one bar per year, each as tall as its count, titled; a click narrows to its year
    browser.get(server.url + "/?q=estuary")
    years = server.get("/api/v1/search", params={"q": "estuary"}).json()["facets"]["year"]
    atlas = len(server.get("/api/v1/documents/atlas").json()["passages"])
    assert years == {"2018": atlas, "2019": 1, "2020": 1, "2021": 2}
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.years a.bar")
    assert [(b.get_attribute("data-year"), int(b.get_attribute("data-count"))) for b in bars] == list(years.items())
    assert [b.get_attribute("aria-label") for b in bars] == [
        f"2018: {atlas} passages", "2019: 1 passage", "2020: 1 passage", "2021: 2 passages"]
    assert [b.find_element(By.TAG_NAME, "title").get_attribute("textContent") for b in bars][3] == "2021: 2 passages"
    heights = [float(b.find_element(By.TAG_NAME, "rect").get_attribute("height")) for b in bars]
    assert heights[0] == max(heights) and heights[1] == heights[2] < heights[3] < heights[0]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "search-page-years.png"))
    _navigate(browser, bars[3].find_element(By.TAG_NAME, "rect").click)
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["date_from"] == query["date_to"] == ["2021"] and query["q"] == ["estuary"]
    assert sorted(_hit_ids(browser)) == ["doe-silt:1", "roe-tides:1"]
    assert browser.find_element(By.ID, "date-from").get_attribute("value") == "2021"

    # the author facet adds the author filter
    browser.get(server.url + "/?q=estuary")
    _navigate(browser, browser.find_element(By.CSS_SELECTOR, 'a.author-facet[data-author="John Doe"]').click)
    assert parse_qs(urlsplit(browser.current_url).query)["author"] == ["John Doe"]
    assert _hit_ids(browser) == ["doe-silt:1"]
    facet = browser.find_element(By.CSS_SELECTOR, 'ul.authors a.author-facet[data-author="John Doe"]')
    assert "on" in facet.get_attribute("class")

    # the author and date inputs of the form filter, through the same search as the API
    browser.get(server.url + "/?q=estuary")
    browser.find_element(By.CSS_SELECTOR, "input.author").send_keys("roe")
    box = browser.find_element(By.ID, "date-from")
    box.send_keys("2020")
    _navigate(browser, lambda: box.send_keys(Keys.ENTER))
    assert _hit_ids(browser) == ["roe-tides:1"]   # Jane Roe's 2019 paper is before 2020
    api = server.get("/api/v1/search", params={"q": "estuary", "author": "roe", "date_from": "2020"}).json()
    assert [h["id"] for h in api["hits"]] == ["roe-tides:1"]
    box = browser.find_element(By.ID, "date-to")
    box.send_keys("2020-12")
    _navigate(browser, lambda: box.send_keys(Keys.ENTER))
    assert _hit_ids(browser) == [] and "No passage" in browser.find_element(By.CSS_SELECTOR, ".summary").text
    box = browser.find_element(By.ID, "date-to")
    box.clear()
    box.send_keys("2021-13")
    _navigate(browser, lambda: box.send_keys(Keys.ENTER))
    assert "is not an ISO date" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
