"""Fetching MTFL from mtfl.url in the fetch_mtfl job, tested without the internet: a
loopback server (127.0.0.1) serves a small archive in MTFL's format; and, in a network
namespace with no network at all (``unshare -rn``), parsing, dry runs, lint and report
never reach out, while the download job fails with one line."""

import functools
import hashlib
import http.server
import socket
import subprocess
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import offline_environment, write_mtfl_folder, zip_folder
from test_workflow import SNAKEMAKE, TINY, snakemake
from workflow_scripts.atomic import partial_files


@pytest.fixture
def served_archive(tmp_path):
    """A fixture archive served over HTTP on 127.0.0.1: (url, bytes)."""
    public = tmp_path / "public"
    public.mkdir()
    archive = zip_folder(write_mtfl_folder(tmp_path / "unpacked"), public / "MTFL.zip")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(public))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/MTFL.zip", archive.read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def mtfl_config(url, sha256=""):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["data"] = {"dataset": "mtfl", "image_size": 16, "validation_fraction": 0.2}
    config["mtfl"] = {"path": "data/MTFL.zip", "url": url, "sha256": sha256}
    config["finetune"]["train_sizes"] = [2]
    return config


def one_line(result, text):
    lines = [line for line in (result.stdout + result.stderr).splitlines() if text in line]
    assert len(lines) == 1, result.stdout[-2000:] + result.stderr[-2000:]
    return lines[0]


def test_a_missing_archive_is_downloaded_checked_and_prepared(tmp_path, served_archive):
    url, content = served_archive
    work = tmp_path / "work"
    work.mkdir()
    snakemake(work, mtfl_config(url, hashlib.sha256(content).hexdigest()), "--cores", "1", "results/data/faces.csv")
    assert (work / "data" / "MTFL.zip").read_bytes() == content
    assert not partial_files(work / "data" / "MTFL.zip")
    assert len(pd.read_csv(work / "results" / "data" / "faces.csv")) == 5
    # once there, the archive is read in place: no download is planned again
    result = snakemake(work, mtfl_config(url), "-n", "--cores", "1", "results/data/faces.csv")
    assert "fetch_mtfl" not in result.stdout


def test_a_wrong_checksum_stops_with_one_line_and_leaves_no_archive(tmp_path, served_archive):
    url, _ = served_archive
    work = tmp_path / "work"
    work.mkdir()
    result = snakemake(work, mtfl_config(url, "0" * 64), "--cores", "1", "results/data/faces.csv", check=False)
    assert result.returncode != 0
    line = one_line(result, "mtfl.sha256 expects")
    assert url in line and "put the archive at mtfl.path yourself" in line
    assert not (work / "data" / "MTFL.zip").exists() and not partial_files(work / "data" / "MTFL.zip")


def test_an_unreachable_address_fails_in_the_download_job_with_one_line(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/MTFL.zip"
    result = snakemake(tmp_path, mtfl_config(url), "--cores", "1", "results/data/faces.csv", check=False)
    assert result.returncode != 0
    line = one_line(result, "cannot be reached")
    assert line.startswith("rule fetch_mtfl failed: ") and url in line and "mtfl.url" in line and "set mtfl.path" in line
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    assert not (tmp_path / "results" / "data" / "faces.pt").exists()


def offline(command: list, cwd):
    """``command`` in a network namespace of its own: no interface but a loopback that is
    down, so any connection attempt, a DNS lookup included, fails at once (SLURM's client,
    which would wait, is stood in for: conftest.offline_environment)."""
    return subprocess.run(["unshare", "--map-root-user", "--net", *command], cwd=cwd,
                          env=offline_environment(Path(cwd)), capture_output=True, text=True, timeout=600)


def no_network_namespace() -> bool:
    try:
        return subprocess.run(["unshare", "--map-root-user", "--net", "true"], capture_output=True).returncode != 0
    except FileNotFoundError:
        return True


needs_unshare = pytest.mark.skipif(no_network_namespace(), reason="needs unprivileged network namespaces (unshare -rn)")


@needs_unshare
def test_parsing_dry_run_lint_and_report_never_reach_the_network(tmp_path):
    """The archive is missing and mtfl.url is the official address: only the planned
    fetch_mtfl job may go out; Snakemake itself never does."""
    config = mtfl_config("http://mmlab.ie.cuhk.edu.hk/projects/TCDCN/data/MTFL.zip")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    base = [*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml")]
    dry = offline([*base, "-n", "--cores", "1"], tmp_path)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert "fetch_mtfl" in dry.stdout
    lint = offline([*base, "--lint"], tmp_path)
    assert "cannot be reached" not in lint.stdout + lint.stderr and "Traceback" not in lint.stderr, lint.stderr[-2000:]
    # the report of what is there (nothing yet, as at the end of a run whose archive was moved)
    report = offline([*base, "--report", "report.html", "results/data/faces.csv"], tmp_path)
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    assert (tmp_path / "report.html").stat().st_size > 0
    assert not (tmp_path / "data").exists()


@needs_unshare
def test_without_a_network_a_missing_archive_fails_with_one_line_naming_path_and_url(tmp_path):
    url = "http://mmlab.ie.cuhk.edu.hk/projects/TCDCN/data/MTFL.zip"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(mtfl_config(url)))
    result = offline([*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
                      "--cores", "1", "results/data/faces.csv"], tmp_path)
    assert result.returncode != 0
    line = one_line(result, "cannot be reached")
    assert line.startswith("rule fetch_mtfl failed: ") and url in line and "set mtfl.path" in line and "mtfl.url" in line
    assert not (tmp_path / "data" / "MTFL.zip").exists() and not partial_files(tmp_path / "data" / "MTFL.zip")
