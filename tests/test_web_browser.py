"""The web view in a real browser: Debian's headless Chromium driven by Selenium through
chromedriver, against `presswatch serve` over a crawl of the demo site. One browser session
walks every step (starting Chromium costs about a second); each page's screenshot is saved into
the test's output folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from tests.webserve import HOSTILE_TITLE, Crawl, Server, crawl_demo, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(os.environ.get("PRESSWATCH_CHROMEDRIVER", "/usr/bin/chromedriver"))

REQUIRE_VAR = "PRESSWATCH_REQUIRE_BROWSER"  # set by .ci/run: a missing browser fails there
MISSING = (
    "the browser tests need Debian's chromium and chromium-driver "
    "(apt-get install -y chromium chromium-driver: /usr/bin/chromium, /usr/bin/chromedriver)"
)


@pytest.fixture(scope="module", autouse=True)
def chromium_installed() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get(REQUIRE_VAR):
        pytest.fail(f"${REQUIRE_VAR} is set but {MISSING}")
    pytest.skip(MISSING)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    yield from crawl_demo(tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def server(crawl: Crawl) -> Iterator[Server]:
    running = serve(crawl.config)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shoot(driver: WebDriver, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), name
    return path


def test_an_analyst_reads_a_story_searches_and_is_not_attacked(
    browser: WebDriver, server: Server, crawl: Crawl, tmp_path: Path
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(server.url("/"))
    assert driver.title == "Overview · presswatch"
    section = driver.find_element(By.ID, "watchlist-karabakh")
    assert "Nagorno-Karabakh conflict" in section.text
    assert section.find_elements(By.CSS_SELECTOR, "svg.chart")
    # app.js ran (allowed by the policy, as a file): times are in the reader's zone.
    assert driver.find_element(By.CSS_SELECTOR, "time").get_attribute("title")
    shoot(driver, tmp_path, "1-overview")

    # The watchlist, then its story of the seed article.
    section.find_element(By.LINK_TEXT, "karabakh").click()
    assert driver.current_url.endswith("/watchlists/karabakh")
    shoot(driver, tmp_path, "2-watchlist")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Azerbaijan Bersumpah Berperang").click()
    assert f"/stories/{crawl.seed_story}" in driver.current_url
    marks = driver.find_elements(By.CSS_SELECTOR, ".text mark")
    marked = [m.text for m in marks]
    assert "Nagorno-Karabakh" in marked, marked
    first = next(m for m in marks if m.text == "Nagorno-Karabakh")
    colour = first.value_of_css_property("background-color")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour  # visibly highlighted
    assert driver.find_element(By.CSS_SELECTOR, "a.original").get_attribute("href")
    shoot(driver, tmp_path, "3-story")

    # A search, with the hits highlighted in the snippets.
    driver.get(server.url("/search"))
    box = driver.find_element(By.ID, "q")
    box.send_keys('"Nagorno-Karabakh" AND perang')
    box.submit()
    # submit() does not wait for the answer's page: wait for what it shows.
    hits = WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "li.hit"), driver.page_source
    )
    assert hits, driver.page_source
    assert any(m.text == "Nagorno-Karabakh" for m in hits[0].find_elements(By.TAG_NAME, "mark"))
    shoot(driver, tmp_path, "4-search")

    # A bad query: the error names the position, and app.js selects it in the box.
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys("Karabakh AND (war")
    box.submit()
    error = WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "query-error"), "no error shown for a bad query"
    )
    assert "position 14" in error.text and "never closed" in error.text
    assert error.find_element(By.CSS_SELECTOR, "mark.at").text == "("
    shoot(driver, tmp_path, "5-search-error")

    # The hostile title: shown as text, nothing runs, no element made from it.
    driver.get(server.url(f"/stories/{crawl.hostile_id}"))
    title = driver.find_element(By.CSS_SELECTOR, "h1.article-title")
    assert title.text == HOSTILE_TITLE
    assert not title.find_elements(By.TAG_NAME, "script")
    assert not title.find_elements(By.TAG_NAME, "img")
    assert not driver.find_elements(By.CSS_SELECTOR, "main script, main img, main b")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert driver.title != "owned"
    assert driver.execute_script("return document.scripts.length") == 1
    shoot(driver, tmp_path, "6-hostile")
    driver.get(server.url("/"))
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert HOSTILE_TITLE in driver.find_element(By.TAG_NAME, "main").text

    # The other pages render too.
    for path, name in (("/sources", "7-sources"), ("/digests", "8-digests")):
        driver.get(server.url(path))
        assert driver.find_element(By.TAG_NAME, "h1").text
        shoot(driver, tmp_path, name)
    # No script error on any page (a policy violation would be logged here).
    errors = [
        e
        for e in driver.get_log("browser")  # type: ignore[attr-defined]  # Chrome only
        if e["level"] == "SEVERE" and "favicon" not in e["message"] and "400" not in e["message"]
    ]
    assert not errors, errors
    if os.environ.get("PRESSWATCH_SCREENSHOTS"):
        # README's screenshots: PRESSWATCH_SCREENSHOTS=docs pytest tests/test_web_browser.py
        target = Path(os.environ["PRESSWATCH_SCREENSHOTS"])
        shutil.copy(tmp_path / "1-overview.png", target / "web-overview.png")
        shutil.copy(tmp_path / "3-story.png", target / "web-story.png")
