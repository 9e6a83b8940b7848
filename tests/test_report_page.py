"""The answer comes first in the report: a real Snakemake report, opened in headless
Chromium at a desktop window (1400 x 900) and at a phone's width (390 x 844), shows the
front page's title and its verdict sentence inside the window, at the top.

The report is loaded in an iframe of the exact window size (headless Chromium will not
make its own window narrower than 500 px), served from a local HTTP server so the page
around it may read the report's DOM; a script there records getBoundingClientRect of the
title and the verdict, and ``--dump-dom`` brings the numbers back."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import ROOT
from test_summary_pages import claim_table
from test_verdicts import CLAIM, hand_gains
from workflow_scripts.report.front_page import write_front_page

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
if CHROMIUM is None and os.environ.get("REQUIRE_CHROMIUM"):  # CI (.ci/run) installs it: never skip there
    raise RuntimeError("REQUIRE_CHROMIUM is set but no chromium is on PATH")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium); the report's page layout "
                             "is checked only in a real browser")

WINDOWS = {"desktop": (1400, 900), "phone": (390, 844)}

PROBE = """<!doctype html>
<html><body style="margin:0">
<iframe id="report" src="report.html" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="probe">waiting</pre>
<script>
function box(element) {{
  if (!element) return null;
  const r = element.getBoundingClientRect();
  return {{top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: element.textContent.trim()}};
}}
function sideways(element) {{
  return {{box: box(element), scroll_width: element.scrollWidth, client_width: element.clientWidth}};
}}
// the claim table and the box a reader scrolls it in: its nearest ancestor (or itself) that
// scrolls sideways; "own" where that box holds the table and not the page around it
function claimTable(page, verdict) {{
  const table = verdict.parentElement.querySelector("table");
  if (!table) return null;
  let scroller = table;
  while (scroller && !["auto", "scroll"].includes(page.defaultView.getComputedStyle(scroller).overflowX)) {{
    scroller = scroller.parentElement;
  }}
  const wider = [];  // anything around the table's box that is wider than itself: the page scrolls sideways
  for (let e = (scroller || table).parentElement; e; e = e.parentElement) {{
    if (e.scrollWidth > e.clientWidth + 1) wider.push(e.tagName + "." + e.className);
  }}
  return {{table: sideways(table), scroller: scroller && sideways(scroller),
          own: Boolean(scroller) && !scroller.contains(verdict), wider: wider,
          window_width: page.documentElement.clientWidth}};
}}
const timer = setInterval(function () {{
  const page = document.getElementById("report").contentDocument;
  const title = page && page.querySelector("h1.title");
  const verdict = page && page.querySelector("p.verdict");
  if (!title || !verdict) return;
  clearInterval(timer);
  document.getElementById("probe").textContent = JSON.stringify(
    {{title: box(title), verdict: box(verdict), claim_table: claimTable(page, verdict)}});
}}, 100);
</script>
</body></html>
"""

# a workflow whose report has the study's front page and a result in the navigation
SNAKEFILE = """
report: "front.rst"

rule all:
    input:
        "out.txt",

rule write:
    output:
        report("out.txt", category="Analysis"),
    shell:
        "echo hello > {output}"
"""


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    holds = {"gender": False, "smile": False, "glasses": False, "pose": False}
    # long settings text, as a real run's, so the page is taller than the window
    write_front_page(folder / "front.rst", claim_table=claim_table(holds), gains=hand_gains(), claim=CLAIM,
                     config_hash="abc", dataset="mtfl", protocol_text="early stopping " * 30,
                     pretraining_text="one CAE per seed " * 20)
    (folder / "Snakefile").write_text(SNAKEFILE)
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(folder / "Snakefile"), "--directory", str(folder)]
    subprocess.run([*snakemake, "--cores", "1", "--quiet"], check=True, capture_output=True, cwd=ROOT)
    subprocess.run([*snakemake, "--report", str(folder / "report.html")], check=True, capture_output=True, cwd=ROOT)
    return folder


@pytest.fixture(scope="module")
def server(report_folder):
    handler = functools.partial(QuietHandler, directory=str(report_folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def positions(report_folder, server, tmp_path, width, height):
    probe = f"probe_{width}x{height}.html"
    (report_folder / probe).write_text(PROBE.format(width=width, height=height))
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={max(width, 500) + 20},{height + 200}",
               "--virtual-time-budget=15000", "--dump-dom", f"{server}/{probe}"]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1) != "waiting", f"the report never showed a title and a verdict:\n{dom[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_the_title_and_the_verdict_open_the_report(report_folder, server, tmp_path, window):
    width, height = WINDOWS[window]
    seen = positions(report_folder, server, tmp_path, width, height)
    print(window, json.dumps(seen))  # pytest -s shows where each landed
    seen.pop("claim_table")
    title, verdict = seen["title"], seen["verdict"]
    assert title["text"] == "The CAE transfer-learning study: its answer"
    assert verdict["text"].startswith("On MTFL at N = 50 the claim holds for no task. ")
    for name, box in seen.items():
        assert 0 <= box["top"] and box["bottom"] <= height, f"{window}: the {name} is outside the window: {box}"
        assert 0 <= box["left"] and box["right"] <= width, f"{window}: the {name} is outside the window: {box}"
    assert title["top"] < 0.15 * height, f"{window}: the title is not at the top: {title}"
    assert verdict["top"] < title["bottom"] + 0.2 * height, f"{window}: the verdict does not follow the title: {verdict}"


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_the_claim_table_is_shown_whole(report_folder, server, tmp_path, window):
    """The paper's claims beside this run, a five-column table, fit the window or scroll
    sideways in a box of their own that fits it; the page itself never scrolls sideways
    (a reader on a phone would see the table cut off at the window's right edge)."""
    width, height = WINDOWS[window]
    seen = positions(report_folder, server, tmp_path, width, height)["claim_table"]
    print(window, json.dumps(seen))
    assert seen, f"{window}: the report's front page has no table after the verdict"
    table, scroller, inside = seen["table"], seen["scroller"], seen["window_width"]
    assert inside <= width and not seen["wider"], f"{window}: the page is wider than the window: {seen['wider']}"
    if 0 <= table["box"]["left"] and table["box"]["right"] <= inside:
        return  # the table fits
    assert seen["own"], f"{window}: the table runs past the window's right edge ({table['box']['right']:.0f} > " \
                        f"{inside} px) and has no box of its own to scroll it in"
    assert 0 <= scroller["box"]["left"] and scroller["box"]["right"] <= inside, f"{window}: the table's box: {scroller}"
    assert scroller["scroll_width"] >= table["scroll_width"], f"{window}: part of the table cannot be scrolled to"
