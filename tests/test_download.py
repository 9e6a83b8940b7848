"""Fetching MTFL from mtfl.url through Snakemake's HTTP storage plugin, tested without the
internet: a loopback server (127.0.0.1) serves a small archive in MTFL's format."""

import functools
import hashlib
import http.server
import socket
import threading

import pandas as pd
import pytest
import yaml

from conftest import write_mtfl_folder, zip_folder
from test_workflow import TINY, snakemake
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
    config["data"] = {"source": "mtfl", "image_size": 16, "validation_fraction": 0.2}
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


def test_an_unreachable_address_stops_with_one_line_before_any_job(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/MTFL.zip"
    result = snakemake(tmp_path, mtfl_config(url), "--cores", "1", "results/data/faces.csv", check=False)
    assert result.returncode != 0
    line = one_line(result, "cannot be reached")
    assert url in line and "mtfl.url" in line and "set mtfl.path" in line
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()
