"""The playground page in headless Chromium (Debian's `chromium` and `chromedriver`) against the
bookstore served by real uvicorn on 127.0.0.1 with `GATI_DEV=1`.

From the page alone: send requests (create an author and a book, read the book as v1.0.0), open the
read's trace and see its timeline and its snapshots, replay it against v1.0.0 (which the bookstore serves through
transformers) and see the response diff; arm a gate, send a request that pauses there, edit its
state, resume it and see the answer the edited state made. Screenshots of each step are kept in
`$GATI_TEST_ARTIFACTS` (default `test-artifacts/playground/` at the repository root).

The server is stopped by its PID; the browser runs with background networking off, so every asset
the page uses comes from the app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import WAIT, headless_chromium  # type: ignore[import-not-found, unused-ignore]  # a sibling module
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_examples_served import (  # type: ignore[import-not-found, unused-ignore]  # a sibling test module
    ALL_ROLES_KEY,
    ROOT,
    build_copy,
    serve_build,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BOOKSTORE = ROOT / "examples" / "bookstore"
V1 = "2026-09-01T09:00:00Z"  # the bookstore's v1.0.0


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("GATI_TEST_ARTIFACTS") or ROOT / "test-artifacts" / "playground")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium("--window-size=1500,1100", console=True) as driver:
        yield driver


class Page:
    """The playground page as the test drives it: by element id and `data-testid`."""

    def __init__(self, driver: WebDriver, shots: Path) -> None:
        self.d = driver
        self.shots = shots
        self.wait = WebDriverWait(driver, WAIT)

    def by_id(self, element_id: str) -> WebElement:
        return self.d.find_element(By.ID, element_id)

    def all(self, testid: str, within: WebElement | None = None) -> list[WebElement]:
        return (within or self.d).find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def until(self, check: Callable[[WebDriver], Any], what: str) -> Any:
        return self.wait.until(check, message=f"waiting for {what}")

    def shot(self, name: str) -> None:
        self.d.save_screenshot(str(self.shots / f"{name}.png"))

    def fill(self, element_id: str, text: str) -> None:
        """Set a field's value as typing would (an `input` event), in one step."""
        self.d.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            self.by_id(element_id),
            text,
        )

    def tab(self, name: str) -> None:
        self.by_id(f"tab-{name}").click()
        self.until(lambda d: self.by_id(f"view-{name}").is_displayed(), f"the {name} view")

    def send(self, method: str, path: str, *, body: Any = None, version: str = "", wait: bool = True) -> None:
        """Send a request with the page's own form."""
        self.tab("requests")
        Select(self.by_id("send-method")).select_by_visible_text(method)
        self.fill("send-path", path)
        Select(self.by_id("send-version")).select_by_value(version)
        self.fill("send-headers", f"x-api-key: {ALL_ROLES_KEY}")
        self.fill("send-body", "" if body is None else json.dumps(body))
        self.by_id("send-button").click()
        if wait:
            self.answered()

    def answered(self) -> tuple[int, Any, str]:
        """The status, JSON body and header lines of the form's last answer, once it is in."""
        result = self.by_id("send-result")
        self.until(lambda d: result.get_attribute("data-state") == "done", "the answer to the page's request")
        status = int(result.get_attribute("data-status") or 0)
        body_text = self.all("send-response-body", result)[0].get_attribute("textContent") or ""
        headers = self.all("send-response-headers", result)[0].get_attribute("textContent") or ""
        try:
            body = json.loads(body_text)
        except ValueError:
            body = body_text
        return status, body, headers


def test_the_playground_page_sends_traces_replays_and_gates_requests(browser: WebDriver, tmp_path: Path) -> None:
    build_dir = build_copy(BOOKSTORE, tmp_path / "bookstore")  # its `[tool.gati.playground]` snapshots get_book
    shots = artifacts_dir()
    with serve_build("bookstore", tmp_path / "bookstore", build_dir, extra_env={"GATI_DEV": "1"}) as served:
        page = Page(browser, shots)
        try:
            drive(page, served.base_url)
        except BaseException:
            page.shot("failure")
            print(f"--- server log\n{served.server_log()}")
            raise
    log: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[attr-defined]  # Chrome's WebDriver
    errors = [e for e in log if e.get("level") == "SEVERE"]
    # the page's own scripts never fail; the app's error answers (404 and the like) may be listed
    assert not [e for e in errors if "playground.js" in e.get("message", "")], errors


def drive(page: Page, base: str) -> None:
    d = page.d
    d.get(f"{base}/_gati/playground")
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1", "the page to start")
    assert page.by_id("app-name").text == "bookstore"
    assert "v2.0.0" in page.by_id("current-version").text
    page.shot("01-empty")

    # 1. requests sent from the page: an author, a book, then the book read as v1.0.0
    page.send("POST", "/authors", body={"name": "Ursula K. Le Guin"})
    status, author, _ = page.answered()
    assert status == 201, author
    new_book = {
        "title": "The Dispossessed",
        "isbn": "9780061054884",
        "genre": "fiction",
        "price": {"amount": 1299, "currency": "EUR"},
        "author_id": author["id"],
    }
    page.send("POST", "/books", body=new_book)
    status, book, _ = page.answered()
    assert status == 201, book
    page.send("GET", f"/books/{book['id']}", version=V1)
    status, old, _ = page.answered()
    assert status == 200 and old["stock"] == 0 and "in_stock" not in old, old  # v1.0.0's shape
    rows = page.until(lambda d: page.all("request-row") if len(page.all("request-row")) >= 3 else None, "3 rows")
    newest = rows[0]
    assert newest.get_attribute("data-handler") == "get_book"
    assert "v1.0.0" in newest.text and "200" in newest.text
    page.shot("02-requests")

    # 2. its trace: the timeline of its spans, nested, with durations and attributes
    page.all("send-open-trace")[0].click()
    detail = page.by_id("detail-body")
    page.until(lambda d: detail.is_displayed() and page.all("span-row"), "the trace's timeline")
    assert detail.get_attribute("data-request-id") == newest.get_attribute("data-request-id")
    spans = {r.get_attribute("data-span-name") or "": r for r in page.all("span-row")}
    assert "GET /books/{id:int}" in spans and "handler get_book" in spans and "ingress" in spans, list(spans)
    assert any(name.startswith("transformer ") for name in spans), list(spans)  # v1.0.0's downgrade
    assert any(name.startswith("module store.") for name in spans), list(spans)
    assert spans["GET /books/{id:int}"].get_attribute("data-depth") == "0"
    assert spans["handler get_book"].get_attribute("data-depth") == "1"
    bar = spans["handler get_book"].find_element(By.CSS_SELECTOR, ".span-bar")
    assert bar.size["width"] >= 1 and bar.value_of_css_property("left") != "auto"
    spans["handler get_book"].click()
    span_detail = page.by_id("span-detail")
    page.until(lambda d: span_detail.is_displayed(), "the span's attributes")
    assert "gati.handler_id" in span_detail.text and "get_book" in span_detail.text
    page.shot("03-trace-timeline")
    page.all("pane-tab-events")[0].click()
    assert any("handler.start" in r.text for r in page.all("event-row"))
    page.all("pane-tab-exchange")[0].click()
    assert '"stock": 0' in page.all("exchange-response-body")[0].text
    page.shot("04-trace-exchange")
    page.all("pane-tab-snapshots")[0].click()  # `snapshots = ["get_book"]`: the state at each position
    positions = [c.get_attribute("data-position") for c in page.all("snapshot")]
    assert "before handler" in positions and "after handler" in positions, positions
    before = page.all("snapshot")[positions.index("before handler")]
    assert '"started"' in page.all("snapshot-state", before)[0].text

    # 3. replay against v1.0.0: both runs and the diff of their answers
    page.all("pane-tab-replay")[0].click()
    Select(page.by_id("replay-version")).select_by_value(V1)
    page.by_id("replay-run").click()
    result = page.by_id("replay-result")
    page.until(lambda d: page.all("replay-verdict", result), "the replay's result")
    assert result.get_attribute("data-same") == "false"
    changes = {(r.get_attribute("data-op"), r.get_attribute("data-path")): r for r in page.all("diff-row", result)}
    assert ("removed", "$.body.stock") in changes and ("added", "$.body.in_stock") in changes, list(changes)
    assert "0" in changes[("added", "$.body.in_stock")].text
    assert page.all("trace-diff-row", result), "the two runs' steps side by side"
    page.shot("05-replay-diff")

    # 4. a debug gate: the request waits, its state is edited, it resumes with that state
    page.tab("gates")
    page.fill("gate-target", "handler")
    page.fill("gate-handler", "get_book")
    page.by_id("gate-arm").click()
    gate_rows = page.until(lambda d: page.all("gate-row"), "the armed gate")
    assert "get_book" in gate_rows[0].text
    page.send("GET", f"/books/{book['id']}", wait=False)  # current version; it stops at the gate
    page.tab("gates")
    card: WebElement = page.until(lambda d: next(iter(page.all("paused-card")), None), "the paused request")
    assert page.by_id("paused-count").text == "1"
    assert page.all("paused-position", card)[0].text == "before handler"
    editor = page.all("paused-state", card)[0]
    state = json.loads(editor.get_attribute("value") or "{}")
    assert "started" in state, state  # the global before hook's clock reading
    state["started"] = 0.0  # as if the request had started when the clock did: Server-Timing shows it
    d.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
        editor,
        json.dumps(state, indent=2),
    )
    page.shot("06-gate-paused")
    assert page.by_id("send-result").get_attribute("data-state") == "pending"  # still held
    page.all("paused-resume", card)[0].click()
    page.until(lambda d: not page.all("paused-card"), "the paused request to go on")
    page.tab("requests")
    status, answer, headers = page.answered()
    assert status == 200 and answer["id"] == book["id"] and "in_stock" in answer
    timing = next(line for line in headers.splitlines() if line.startswith("server-timing:"))
    assert float(timing.split("dur=")[1]) > 60_000, timing  # measured from the edited `started`
    page.shot("07-gate-resumed")
