"""The built book, opened as a reader would: every table-of-contents page in headless Chromium.

The HTML in ``_build/html`` is served on 127.0.0.1 and each page of ``_toc.yml`` is loaded in
Debian's Chromium, driven through the DevTools protocol. Checked: each page answers HTTP 200
and renders a title and main content, every image loads (natural width > 0), no resource of
the book fails to load, every internal link points to an existing file and anchor, and the
results chapter shows its table of anchors. At a desktop width (1280 px) and a phone width
(390 px) nothing is wider than the content column or clipped: an element may reach past the
column only inside a box that scrolls sideways on its own (``overflow-x: auto``), and no box
hides part of a table. A screenshot of every page at both widths is kept in
``_build/screenshots/`` (``<page>-desktop.png``, ``<page>-phone.png``).

Chromium is installed by ``make setup``; without it this test fails and says how to get it.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from nar_utils.reproduce import runner

pytestmark = [pytest.mark.book]

HTML_DIR = runner.BUILD_DIR / "html"
SCREENSHOT_DIR = runner.BUILD_DIR / "screenshots"
RESULTS_PAGE = "book/notebooks/10_results"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--mute-audio", "--window-size=1280,1000",
                  # Any host but the local server fails to resolve: the test never touches
                  # the network, even when a page references a CDN.
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
PAGE_TIMEOUT_S = 20.0
# Script errors of the book's theme itself, not of the book (jupyter-book 1.x declares this
# constant in two of its bundled scripts).
KNOWN_THEME_SCRIPT_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

# Runs in each page: title, main content, images (waited for), links, ids and tables.
PAGE_PROBE_JS = r"""
(async () => {
  const waitForImage = (img) => new Promise((resolve) => {
    const report = () => resolve({src: img.getAttribute('src'), url: img.currentSrc || img.src,
                                  width: img.naturalWidth});
    if (img.complete) { report(); return; }
    img.loading = 'eager';
    const timer = setTimeout(report, 10000);
    img.addEventListener('load', () => { clearTimeout(timer); report(); }, {once: true});
    img.addEventListener('error', () => { clearTimeout(timer); report(); }, {once: true});
  });
  const images = await Promise.all(Array.from(document.images).map(waitForImage));
  const main = document.querySelector('article[role="main"], main, [role="main"]');
  const h1 = main ? main.querySelector('h1') : document.querySelector('h1');
  const text = (el) => (el ? el.innerText : '').replace(/[\s\u00b6#]+$/u, '').trim();
  const tables = Array.from(document.querySelectorAll('table')).map((table) => {
    const section = table.closest('section');
    const heading = section ? section.querySelector('h1, h2, h3, h4') : null;
    const caption = table.querySelector('caption');
    return {caption: text(caption), heading: text(heading),
            head: Array.from(table.querySelectorAll('thead th, thead td')).map(text),
            rows: table.querySelectorAll('tbody tr').length,
            text: table.innerText.slice(0, 2000)};
  });
  return {
    url: location.href, title: document.title, h1: text(h1),
    mainText: main ? main.innerText.length : 0,
    images,
    links: Array.from(document.querySelectorAll('a[href]')).map(
      (a) => ({raw: a.getAttribute('href'), url: a.href})),
    tables,
  };
})()
"""

# Runs in each page at the current width: what sticks out of the content column or is cut off.
# An element past the column is allowed inside an ancestor (within the column) that scrolls
# sideways itself; a box that hides overflow (hidden / clip) must not hide part of a table.
OVERFLOW_PROBE_JS = r"""
(() => {
  const column = document.querySelector('article.bd-article, article[role="main"], main');
  if (!column) return {column: null, wide: [], clipped: [], pageWidth: 0, viewport: 0};
  const box = column.getBoundingClientRect();
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    if (el.classList.length) name += '.' + Array.from(el.classList).slice(0, 3).join('.');
    const section = el.closest('section');
    const heading = section ? section.querySelector('h1, h2, h3, h4') : null;
    return {element: name, section: heading ? heading.innerText.replace(/[\s\u00b6#]+$/u, '')
              .trim() : '', text: (el.innerText || el.textContent || '').trim().slice(0, 80)};
  };
  const scrollsItself = (el) => {
    for (let up = el.parentElement; up && up !== column.parentElement; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return true;
    }
    return false;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    return style.display !== 'none' && style.visibility !== 'hidden' && rect.width > 0
           && rect.height > 0;
  };
  const wide = [];
  for (const el of column.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    if ((rect.right > box.right + 1 || rect.left < box.left - 1) && visible(el)
        && !scrollsItself(el)) {
      wide.push({...describe(el), right: Math.round(rect.right), left: Math.round(rect.left)});
    }
  }
  // Report the outermost offenders only: a wide table, not each of its cells.
  const outer = wide.filter((item, i) => !wide.some((other, j) => j < i &&
    other.text && item.text && other.text.includes(item.text) && other.right >= item.right));
  const clipped = [];
  for (const table of column.querySelectorAll('table')) {
    for (let up = table.parentElement; up && up !== column.parentElement; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if ((overflow === 'hidden' || overflow === 'clip') && up.scrollWidth > up.clientWidth + 1) {
        clipped.push({...describe(table), box: describe(up).element,
                      hidden: up.scrollWidth - up.clientWidth});
        break;
      }
      if (overflow === 'auto' || overflow === 'scroll') break;
    }
  }
  return {column: {left: Math.round(box.left), right: Math.round(box.right)},
          wide: outer.slice(0, 10), clipped: clipped.slice(0, 10),
          pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
})()
"""
# The widths the book is read at: a laptop window and a phone held upright.
WIDTHS = {"desktop": (1280, False), "phone": (390, True)}


# --------------------------------------------------------------------------- the book

def toc_pages(toc_path: Path = runner.ROOT / "_toc.yml") -> list[str]:
    """Docnames of the table of contents in reading order (root first)."""
    toc = yaml.safe_load(toc_path.read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)

    walk(toc)
    return [str(Path(page).with_suffix("")) if Path(page).suffix in (".md", ".ipynb")
            else page for page in pages]


def _html_file(docname: str) -> Path:
    return HTML_DIR / f"{docname}.html"


@pytest.fixture(scope="module")
def html_dir(request) -> Path:
    """The built HTML book: the shared build when conftest provides one (``built_book``),
    else the existing ``_build/html``, else built here with the runner's own functions."""
    try:
        request.getfixturevalue("built_book")
    except pytest.FixtureLookupError:
        pass
    if not all(_html_file(page).is_file() for page in toc_pages()):
        executed = [runner.OUTPUT_DIR / p.name for p in runner.notebook_paths()]
        if not all(path.is_file() for path in executed):
            runner.run_all("cpu", progress=False)
        runner.build_book(strict=True)
    missing = [page for page in toc_pages() if not _html_file(page).is_file()]
    assert not missing, f"the build has no HTML for table-of-contents pages {missing}"
    return HTML_DIR


@pytest.fixture(scope="module")
def server(html_dir):
    """``_build/html`` over HTTP on 127.0.0.1, on a free port."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest's output readable
            pass

    handler = functools.partial(QuietHandler, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


# --------------------------------------------------------------------------- the browser

def _chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if os.access("/usr/bin/chromium", os.X_OK) else None)
    if path is None:
        pytest.fail("headless Chromium is needed to check the book in a browser and was not "
                    "found: run 'make setup' (installs Debian's chromium) or "
                    "'apt-get install -y chromium'", pytrace=False)
    return path


class DevTools:
    """A minimal client of the Chrome DevTools protocol over one page's websocket."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client

        self._ws = websocket.create_connection(ws_url, timeout=PAGE_TIMEOUT_S,
                                               suppress_origin=True, max_size=None)
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params):
        """Call ``method`` and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message_id = self._next_id
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"DevTools {method} got no answer in {PAGE_TIMEOUT_S} s")

    def wait_event(self, method: str) -> dict:
        """The first kept or incoming event named ``method`` (removed from the kept list)."""
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while True:
            for position, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(position)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no DevTools event {method} in {PAGE_TIMEOUT_S} s")
            message = json.loads(self._ws.recv())
            if "method" in message:
                self.events.append(message)

    def close(self):
        self._ws.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile, and a DevTools client on its page."""
    chromium = _chromium_path()
    profile = tmp_path_factory.mktemp("chromium-profile")
    log_path = profile.parent / "chromium.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    client = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"Chromium ({chromium}) did not start its DevTools endpoint:\n"
                            f"{tail}", pytrace=False)
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        client = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Network"):
            client.send(f"{domain}.enable")
        client.send("Emulation.setDeviceMetricsOverride", width=1280, height=1000,
                    deviceScaleFactor=1, mobile=False)
        yield client
    finally:
        if client is not None:
            client.close()
        # The browser and its helper processes share the session started for it.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


def _load(browser: DevTools, url: str) -> dict:
    """Navigate, wait for the load event, probe the page; returns the probe plus what the
    network saw (document status, failed requests)."""
    browser.events.clear()
    result = browser.send("Page.navigate", url=url)
    assert not result.get("errorText"), f"{url}: navigation failed: {result['errorText']}"
    browser.wait_event("Page.loadEventFired")
    probe = browser.send("Runtime.evaluate", expression=PAGE_PROBE_JS, awaitPromise=True,
                         returnByValue=True)
    assert "exceptionDetails" not in probe, f"{url}: probe failed: {probe['exceptionDetails']}"
    page = probe["result"]["value"]
    responses = [e["params"] for e in browser.events if e["method"] == "Network.responseReceived"]
    failures = [e["params"] for e in browser.events if e["method"] == "Network.loadingFailed"]
    requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in browser.events if e["method"] == "Network.requestWillBeSent"}
    page["document_status"] = next((r["response"]["status"] for r in responses
                                     if r.get("type") == "Document"), None)
    page["bad_responses"] = [(r["response"]["url"], r["response"]["status"]) for r in responses
                             if r["response"]["status"] >= 400]
    page["failed_requests"] = [(requests.get(f["requestId"], "?"), f.get("errorText"))
                               for f in failures]
    page["script_errors"] = [
        e["params"]["exceptionDetails"].get("exception", {}).get("description")
        or e["params"]["exceptionDetails"].get("text", "?")
        for e in browser.events if e["method"] == "Runtime.exceptionThrown"]
    return page


@pytest.fixture(scope="module")
def pages(server, browser) -> dict[str, dict]:
    """Every table-of-contents page, loaded in the browser, by docname."""
    return {docname: _load(browser, urllib.parse.urljoin(server, f"{docname}.html"))
            for docname in toc_pages()}


def _set_width(browser: DevTools, width: int, mobile: bool) -> None:
    browser.send("Emulation.setDeviceMetricsOverride", width=width, height=1000,
                 deviceScaleFactor=1, mobile=mobile)


def _screenshot(browser: DevTools, name: str, width: int) -> Path:
    """The page now loaded, from the top, at most 8000 px tall, as ``<name>.png``."""
    import base64

    metrics = browser.send("Page.getLayoutMetrics")
    height = min(int(metrics["cssContentSize"]["height"]), 8000)
    shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.fixture(scope="module")
def layouts(server, browser) -> dict[tuple[str, str], dict]:
    """Every page at every width of ``WIDTHS``: the overflow probe, and a screenshot."""
    found = {}
    try:
        for label, (width, mobile) in WIDTHS.items():
            _set_width(browser, width, mobile)
            for docname in toc_pages():
                _load(browser, urllib.parse.urljoin(server, f"{docname}.html"))
                probe = browser.send("Runtime.evaluate", expression=OVERFLOW_PROBE_JS,
                                     returnByValue=True)
                assert "exceptionDetails" not in probe, \
                    f"{docname}: overflow probe failed: {probe['exceptionDetails']}"
                layout = probe["result"]["value"]
                layout["screenshot"] = _screenshot(
                    browser, f"{Path(docname).name}-{label}", width)
                found[docname, label] = layout
    finally:
        _set_width(browser, *WIDTHS["desktop"])
    return found


# --------------------------------------------------------------------------- links

class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.names.add(value or "")


@functools.lru_cache(maxsize=None)
def _anchors_of(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.names)


def _broken_link(url: str, server: str, html_dir: Path) -> str | None:
    """Why an internal link is broken (None when its file and anchor exist)."""
    parts = urllib.parse.urlsplit(url)
    relative = urllib.parse.unquote(parts.path)[len(urllib.parse.urlsplit(server).path):]
    target = html_dir / relative
    if relative == "" or relative.endswith("/"):
        target = target / "index.html"
    if not target.is_file():
        return f"no file {target.relative_to(html_dir)}"
    fragment = urllib.parse.unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in _anchors_of(target):
        return f"no anchor #{fragment} in {target.relative_to(html_dir)}"
    return None


# --------------------------------------------------------------------------- tests

def test_every_toc_page_renders(pages):
    assert pages, "the table of contents lists no pages"
    for docname, page in pages.items():
        assert page["document_status"] == 200, f"{docname}: HTTP {page['document_status']}"
        assert page["h1"], f"{docname}: no page heading (h1) was rendered"
        assert page["h1"] in page["title"], f"{docname}: title {page['title']!r} " \
                                            f"does not name the heading {page['h1']!r}"
        assert page["mainText"] > 200, f"{docname}: the main content is (nearly) empty"


def test_every_image_loads(pages):
    checked = 0
    for docname, page in pages.items():
        for image in page["images"]:
            assert image["width"] > 0, f"{docname}: image {image['src']} did not load"
            checked += 1
    assert checked > 0, "no images on any table-of-contents page: the figures are missing"


def test_no_resource_of_the_book_fails_to_load(pages, server):
    # The browser asks for /favicon.ico by itself when a page declares no icon.
    favicon = urllib.parse.urljoin(server, "favicon.ico")
    for docname, page in pages.items():
        local_bad = [(url, status) for url, status in page["bad_responses"]
                     if url.startswith(server) and url != favicon]
        local_failed = [(url, why) for url, why in page["failed_requests"]
                        if url.startswith(server)]
        assert not local_bad, f"{docname}: resources answered with errors: {local_bad}"
        assert not local_failed, f"{docname}: resources failed to load: {local_failed}"


def test_no_script_errors_beyond_known_theme_ones(pages):
    for docname, page in pages.items():
        errors = [e for e in page["script_errors"]
                  if not any(known in e for known in KNOWN_THEME_SCRIPT_ERRORS)]
        assert not errors, f"{docname}: uncaught script errors: {errors}"


def test_no_internal_link_is_broken(pages, server, html_dir):
    checked, broken = 0, []
    for docname, page in pages.items():
        for link in page["links"]:
            if not link["url"].startswith(server):
                continue  # external sites, mailto: and javascript: are not the book's
            checked += 1
            why = _broken_link(link["url"], server, html_dir)
            if why:
                broken.append(f"{docname}: href {link['raw']!r}: {why}")
    assert checked > 0, "no internal links found: the navigation did not render"
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_results_page_shows_the_anchors_table(pages):
    """The results page shows a table of anchors (the word 'anchor' in its caption, header,
    section heading or cells) with at least one row."""
    assert RESULTS_PAGE in pages, f"{RESULTS_PAGE} is not in _toc.yml"
    tables = pages[RESULTS_PAGE]["tables"]
    anchors = [t for t in tables
               if "anchor" in " ".join([t["caption"], t["heading"], *t["head"], t["text"]])
               .lower()]
    assert anchors, f"{RESULTS_PAGE}: no table of anchors among {len(tables)} tables " \
                    f"(headings: {[t['heading'] for t in tables]})"
    assert all(t["rows"] >= 1 for t in anchors), f"{RESULTS_PAGE}: the anchors table is empty"


def test_nothing_is_wider_than_the_content_column(layouts):
    problems = []
    for (docname, label), layout in layouts.items():
        assert layout["column"], f"{docname} ({label}): no content column (article) found"
        where = f"{docname} at {label} width (column {layout['column']['left']}-" \
                f"{layout['column']['right']} px)"
        problems += [f"{where}: {item['element']} in '{item['section']}' spans "
                     f"{item['left']}-{item['right']} px: {item['text']!r}"
                     for item in layout["wide"]]
        problems += [f"{where}: table in '{item['section']}' has {item['hidden']} px cut off "
                     f"by {item['box']}: {item['text']!r}" for item in layout["clipped"]]
        if layout["pageWidth"] > layout["viewport"] + 1:
            problems.append(f"{where}: the page scrolls sideways ({layout['pageWidth']} px "
                            f"wide in a {layout['viewport']} px window)")
    assert not problems, "content that does not fit (make it narrower: transpose, split, " \
        "or let it scroll in its own box):\n" + "\n".join(problems)


def test_screenshots_of_every_page_at_both_widths(layouts):
    from matplotlib.image import imread

    assert {docname for docname, _ in layouts} == set(toc_pages())
    for (docname, label), layout in layouts.items():
        pixels = imread(layout["screenshot"])
        assert pixels.shape[1] == WIDTHS[label][0] and pixels.shape[0] >= 500, \
            (layout["screenshot"], pixels.shape)
        assert pixels[..., :3].std() > 0.02, f"{layout['screenshot']} is blank"
