"""The MTFL archive fetched from its URL: checked, then put in place atomically.

Only the job of rule ``fetch_mtfl`` touches the network: ``download`` streams ``mtfl.url``
to a file beside ``mtfl.path`` (parsing the workflow, ``--dry-run``, ``--lint`` and
``--report`` never ask the server anything); ``install_archive`` checks that copy (its SHA-256 when ``mtfl.sha256`` is set, and in any
case that it is a readable MTFL archive: a zip with the annotation files, so a truncated
download never passes) and only then moves it to ``mtfl.path``. A copy that fails the
check is deleted, so the next run downloads afresh.
"""

import hashlib
import re
import shutil
import zipfile
from pathlib import Path

from workflow_scripts.atomic import atomic_path


class ArchiveError(ValueError):
    """A downloaded archive that cannot be used, with its URL and what to do."""


def sha256_of(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def install_archive(downloaded, target, url: str, sha256: str = "") -> str:
    """Check ``downloaded`` and move it to ``target`` atomically; return its SHA-256."""
    from workflow_scripts.data.mtfl import ANNOTATION_FILES, MTFLError, MTFLSource  # torch: not needed when the workflow is parsed

    downloaded = Path(downloaded)
    found = sha256_of(downloaded)
    try:
        if sha256 and found.lower() != sha256.lower():
            raise ArchiveError(
                f"{url}: the download's SHA-256 is {found}, mtfl.sha256 expects {sha256.lower()}; "
                "check mtfl.url and mtfl.sha256, or put the archive at mtfl.path yourself")
        try:
            source = MTFLSource(downloaded)
            for name in ANNOTATION_FILES.values():
                source.read(name)
        except (MTFLError, FileNotFoundError, zipfile.BadZipFile) as error:
            raise ArchiveError(f"{url}: the download is not a complete MTFL archive ({error}); "
                               "rerun to download again, or put the archive at mtfl.path yourself") from None
    except ArchiveError:
        downloaded.unlink(missing_ok=True)
        raise
    with atomic_path(target) as temporary:
        shutil.copyfile(downloaded, temporary)
    return found


ADVICE = "download MTFL.zip yourself and set mtfl.path to it, or fix mtfl.url"


def download(url: str, target, timeout: float = 60.0, chunk: int = 1 << 20):
    """Stream ``url`` to ``target``; ArchiveError in one line naming the URL and what to do
    when the server cannot be reached or does not answer 200 (after redirects)."""
    import requests

    try:
        with requests.get(url, stream=True, allow_redirects=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise ArchiveError(f"{url}: the server answers HTTP {response.status_code}; {ADVICE}")
            with open(target, "wb") as file:
                for block in response.iter_content(chunk):
                    file.write(block)
    except requests.RequestException as error:
        # requests nests the cause deep in its message: keep the system's own words
        cause = re.search(r"\[Errno -?\d+\] [^'\")]+", str(error))
        reason = cause.group(0) if cause else type(error).__name__
        raise ArchiveError(f"{url}: cannot be reached ({reason}); {ADVICE}") from None
