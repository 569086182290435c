"""/api/docs/ (Swagger UI) and /api/redoc/ in a real browser, served from the project itself: no CDN.

The pages' Content-Security-Policy allows our own origin only (core/api_docs.py). Chromium still lists a
request the policy blocked among the page's resource entries (size 0, status 0) and reports the block
in its console, so "no request went out" means: every resource on another host was blocked by the
policy, and there is no other.
"""

import re
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKED = re.compile(r"Loading the \w+ '([^']+)' violates the following Content Security Policy directive")


class Page:
    def __init__(self, browser):
        self.browser = browser
        self.local = urlsplit(browser.live_url).hostname
        self.blocked: set[str] = set()
        browser.get_log("browser")  # drop what earlier pages logged

    def open(self, path: str) -> None:
        self.browser.get(f"{self.browser.live_url}{path}")

    def other_hosts_requested(self) -> set[str]:
        """URLs on other hosts among the page's resource entries (scripts, styles, images, fonts, fetches)."""
        urls = self.browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        return {url for url in urls if url.startswith(("http:", "https:")) and urlsplit(url).hostname != self.local}

    def blocked_by_the_policy(self) -> set[str]:
        for entry in self.browser.get_log("browser"):
            if entry.get("source") == "security" and (match := BLOCKED.search(entry["message"])):
                self.blocked.add(match.group(1))
        return self.blocked


def test_swagger_ui_renders_the_operations_from_local_files_only(admin_browser):
    page = Page(admin_browser)
    page.open("/api/docs/")
    # Swagger UI draws an operation block per path and method once it has fetched and parsed the schema.
    operation = WebDriverWait(admin_browser, 20).until(
        lambda b: b.find_element(By.CSS_SELECTOR, ".opblock-get .opblock-summary-path[data-path='/api/claims/']")
    )
    assert operation.is_displayed()
    assert admin_browser.find_element(
        By.CSS_SELECTOR, ".opblock-post .opblock-summary-path[data-path='/api/bulk-jobs/']"
    )
    assert admin_browser.find_element(By.CSS_SELECTOR, ".info .title").text.startswith("Medical aid back office API")
    assert page.other_hosts_requested() == set() and page.blocked_by_the_policy() == set()


def test_redoc_renders_from_local_files_only(admin_browser):
    page = Page(admin_browser)
    page.open("/api/redoc/")
    title = WebDriverWait(admin_browser, 20).until(lambda b: b.find_element(By.CSS_SELECTOR, ".api-info h1"))
    assert title.text.startswith("Medical aid back office API")
    assert admin_browser.find_element(By.CSS_SELECTOR, "[data-section-id^='tag/claims'], [id^='tag/claims']")
    # ReDoc's bundle draws its "API docs by Redocly" footer with a logo from cdn.redoc.ly: asked, and blocked.
    WebDriverWait(admin_browser, 10).until(lambda b: any("cdn.redoc.ly" in url for url in page.blocked_by_the_policy()))
    outside = page.other_hosts_requested()
    assert outside <= page.blocked_by_the_policy(), f"requests to other hosts not blocked: {outside - page.blocked}"
    assert not any("fonts.googleapis.com" in url for url in outside)  # drf-spectacular's page links Google Fonts
