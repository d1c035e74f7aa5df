"""Headless Chromium (Debian's `chromium` and `chromedriver`, installed by `.ci/run`) against a served app.

1. The `/docs` page of the served bookstore loads with no internet access (the browser is started
   with background networking off; every asset comes from the app), lists every operation of
   `/openapi.json`, and sends a request from "Try it out" that the server answers.
2. The generated TypeScript SDK, compiled with `tsc`, runs in a page served from a second
   127.0.0.1 port: a cross-origin caller. With `[tool.gati.cors]` allowing that origin, preflighted
   calls (an API key header, a JSON body) succeed and a 404 arrives as the SDK's typed error; the
   same page served from an origin that is not allowed gets no answer it may read.

The servers are real (uvicorn for the app, `http.server` for the page), each stopped by its PID.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import WAIT, headless_chromium  # type: ignore[import-not-found, unused-ignore]  # a sibling module
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from test_examples_served import (  # type: ignore[import-not-found, unused-ignore]  # a sibling test module
    ALL_ROLES_KEY,
    ROOT,
    build_copy,
    free_port,
    serve_build,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TSC = ROOT / "node_modules" / ".bin" / "tsc"
BOOKSTORE = ROOT / "examples" / "bookstore"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium() as driver:
        yield driver


def test_docs_page_lists_every_operation_and_sends_a_request(browser: WebDriver, tmp_path: Path) -> None:
    build_dir = build_copy(BOOKSTORE, tmp_path / "bookstore")
    with serve_build("bookstore", tmp_path / "bookstore", build_dir) as served:
        document = httpx.get(f"{served.base_url}/openapi.json").json()
        operations = {
            (method.upper(), path)
            for path, ops in document["paths"].items()
            for method in ops
            if method != "parameters"
        }
        browser.get(f"{served.base_url}/docs")
        wait = WebDriverWait(browser, WAIT)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(operations))
        shown = {
            (
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip().upper(),
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
            )
            for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
        }
        assert shown == operations
        assert browser.find_element(By.CSS_SELECTOR, ".info .title").text.startswith("bookstore")

        # GET /authors (public): open it, "Try it out", "Execute": the page calls the API
        block = next(
            b
            for b in browser.find_elements(By.CSS_SELECTOR, ".opblock.opblock-get")
            if b.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path") == "/authors"
        )
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        if not block.find_elements(By.CSS_SELECTOR, ".execute"):  # our page opens in "try it out" mode
            block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        wait.until(lambda d: block.find_element(By.CSS_SELECTOR, ".execute")).click()
        status = wait.until(
            lambda d: block.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")
        )
        assert status.text.strip().startswith("200")
        body = block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre"
        ).text
        assert isinstance(json.loads(body), list)
        # the request reached the server: uvicorn's access log has it
        assert '"GET /authors HTTP/1.1" 200' in served.log.read_text(encoding="utf-8", errors="replace")


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sdk</title></head>
<body>
<script type="module">
import { Client, NotFoundError } from "./dist/index.js";
const out = {};
try {
  const client = new Client({ baseUrl: %(api)s, apiKey: %(key)s, maxRetries: 0 });
  const author = await client.createAuthor({ body: { name: "Ursula K. Le Guin" } });
  out.created = author;
  out.listed = (await client.listAuthors()).map((a) => a.name);
  try {
    await client.getAuthor({ id: 987654 });
    out.missing = "no error";
  } catch (err) {
    out.missing = { notFound: err instanceof NotFoundError, status: err.status, code: err.code };
  }
} catch (err) {
  out.error = { name: err && err.constructor ? err.constructor.name : String(err), message: String(err) };
}
document.body.dataset.result = JSON.stringify(out);
</script>
</body></html>
"""


@contextmanager
def static_server(folder: Path, port: int) -> Iterator[str]:
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(WAIT * 20):
            try:
                httpx.get(base + "/index.html", timeout=1)
                break
            except httpx.TransportError:
                proc.poll()
                assert proc.returncode is None, "the static server ended"
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_page(browser: WebDriver, url: str) -> dict[str, Any]:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-result") is not None
    )
    result = json.loads(browser.find_element(By.TAG_NAME, "body").get_attribute("data-result") or "{}")
    assert isinstance(result, dict)
    return result


def test_typescript_sdk_works_from_another_origin(browser: WebDriver, tmp_path: Path) -> None:
    assert TSC.exists(), "node_modules/.bin/tsc is missing: run `npm ci` at the repository root"
    page_port, other_port = free_port(), free_port()
    allowed = f"http://127.0.0.1:{page_port}"

    def allow_page_origin(app: Path) -> None:
        with (app / "pyproject.toml").open("a", encoding="utf-8") as f:
            f.write(
                "\n[tool.gati.cors]\n"
                f'allow_origins = ["{allowed}"]\n'
                'allow_headers = ["content-type", "x-api-key", "x-gati-version"]\n'
            )

    build_dir = build_copy(BOOKSTORE, tmp_path / "bookstore", allow_page_origin)
    sdk = tmp_path / "web"
    shutil.copytree(build_dir / "sdk" / "typescript", sdk)
    compiled = subprocess.run([str(TSC), "-p", str(sdk)], capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (sdk / "dist" / "index.js").is_file()

    with serve_build("bookstore", tmp_path / "bookstore", build_dir) as served:
        (sdk / "index.html").write_text(
            PAGE % {"api": json.dumps(served.base_url), "key": json.dumps(ALL_ROLES_KEY)}, encoding="utf-8"
        )
        with static_server(sdk, page_port) as page_base:
            result = run_page(browser, page_base + "/index.html")
        assert "error" not in result, result
        assert result["created"]["name"] == "Ursula K. Le Guin" and isinstance(result["created"]["id"], int)
        assert "Ursula K. Le Guin" in result["listed"]
        missing = result["missing"]
        assert missing["notFound"] is True and missing["status"] == 404 and missing["code"], missing

        # the same page from an origin the app does not allow: the browser withholds every answer
        with static_server(sdk, other_port) as other_base:
            refused = run_page(browser, other_base + "/index.html")
        assert refused.get("error", {}).get("name") in ("ApiConnectionError", "TypeError"), refused
