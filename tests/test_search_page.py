"""The search page at / over a real server: plain HTML (no script needed), then driven in a real
headless Chromium (Debian's chromium + chromedriver, through selenium), with a screenshot saved
under test-artifacts/."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = {"id": "hostile", "title": "<script>alert('title')</script> Hostile note",
           "text": "Vaccine diplomacy <img src=x onerror=alert(1)> and <script>alert('text')</script> "
                   "reached the clinics of Lagos."}


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
