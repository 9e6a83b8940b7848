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
from workflow_scripts.summary_pages import write_front_page

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
const timer = setInterval(function () {{
  const page = document.getElementById("report").contentDocument;
  const title = page && page.querySelector("h1.title");
  const verdict = page && page.querySelector("p.verdict");
  if (!title || !verdict) return;
  clearInterval(timer);
  document.getElementById("probe").textContent = JSON.stringify(
    {{title: box(title), verdict: box(verdict)}});
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
    title, verdict = seen["title"], seen["verdict"]
    assert title["text"] == "The CAE transfer-learning study: its answer"
    assert verdict["text"].startswith("On MTFL at N = 50 the claim holds for no task. ")
    for name, box in seen.items():
        assert 0 <= box["top"] and box["bottom"] <= height, f"{window}: the {name} is outside the window: {box}"
        assert 0 <= box["left"] and box["right"] <= width, f"{window}: the {name} is outside the window: {box}"
    assert title["top"] < 0.15 * height, f"{window}: the title is not at the top: {title}"
    assert verdict["top"] < title["bottom"] + 0.2 * height, f"{window}: the verdict does not follow the title: {verdict}"
