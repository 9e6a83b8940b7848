"""Shared fixtures. Every fixture is generated here; nothing is copied from a data set."""

import fcntl
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from torchvision.io import encode_jpeg

ROOT = Path(__file__).resolve().parents[1]

REAL_MTFL = ROOT.parent / "shared" / "datasets" / "MTFL.zip"

# Tests run `make` themselves. Under `make test` the outer make's variables would turn
# every inner make into a sub-make (printing "make[1]: Entering directory" lines and
# sharing the outer job server): the tests' makes are top-level, as a user's would be.
for _name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
    os.environ.pop(_name, None)


# make test: pytest-xdist deals whole files out to its workers (--dist loadfile) in the order
# they were collected (--no-loadscope-reorder; by default it would put the files with the
# most tests first, and these files of one to three long tests last), two to each worker to
# begin with. The files that run studies through Snakemake go first, so that none of them
# starts when the other workers have nothing left to do: the tiny study's beside the small
# study's (test_interruption.py runs it, test_slurm.py then reads it: small_study_run).
FIRST = ["test_workflow.py", "test_interruption.py", "test_readme_commands.py", "test_slurm.py",
         "test_folder_dataset.py", "test_intermediates.py", "test_download.py"]


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's: without it, never called
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores this process may use (xdist's own
    PYTEST_XDIST_AUTO_NUM_WORKERS wins where set). A worker in an end-to-end test leaves its
    core idle for stretches (SLURM's status checks, the lock on the shared small study, a
    study's one-job stretches such as its CAE); a third worker on two cores fills them (on 2
    cores the suite's CPU time was 85 % of twice its wall time with two workers)."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    return int(given) if given else len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: within a file, and among the other files, the order stays


def _face_jpeg(size=(60, 80), channels=3, shade=120):
    """A small JPEG: a bright square 'face' on a darker background."""
    height, width = size
    image = torch.full((channels, height, width), 40, dtype=torch.uint8)
    image[:, 10:50, 20:60] = shade
    with warnings.catch_warnings():  # torchvision 0.29's notice that its image I/O moves to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return encode_jpeg(image, quality=90).numpy().tobytes()


def landmarks_line(path, labels, leading=" "):
    xs = "25.5 54.5 40.0 30.0 50.0"
    ys = "20.0 20.0 30.0 42.0 42.0"
    return f"{leading}{path} {xs} {ys} {' '.join(str(v) for v in labels)}\r\n"


def write_mtfl_folder(root: Path, training_lines=None, testing_lines=None, images=None) -> Path:
    """An MTFL-layout folder (root/MTFL/...) with the archive's quirks:
    back-slash paths, leading spaces, CRLF endings, a blank line, grey and colour JPEGs
    of different sizes, and more images than the annotation files name."""
    mtfl = root / "MTFL"
    for folder in ("lfw_5590", "net_7876", "AFLW"):
        (mtfl / folder).mkdir(parents=True, exist_ok=True)
    default_images = {
        "lfw_5590/Aaron_0001.jpg": _face_jpeg(),
        "lfw_5590/Abel_0001.jpg": _face_jpeg((70, 90), channels=1, shade=200),
        "net_7876/net_0001.jpg": _face_jpeg((64, 64)),
        "net_7876/unlisted.jpg": _face_jpeg(),
        "AFLW/0001-image1.jpg": _face_jpeg((100, 80)),
        "AFLW/0002-image2.jpg": _face_jpeg((60, 80), channels=1),
    }
    for name, data in (images if images is not None else default_images).items():
        (mtfl / name).write_bytes(data)
    if training_lines is None:
        training_lines = [
            landmarks_line("lfw_5590\\Aaron_0001.jpg", (1, 2, 2, 3), leading=""),
            landmarks_line("lfw_5590\\Abel_0001.jpg", (2, 1, 1, 1)),
            "\r\n",
            landmarks_line("net_7876\\net_0001.jpg", (1, 1, 2, 5)),
        ]
    if testing_lines is None:
        testing_lines = [
            landmarks_line("AFLW/0001-image1.jpg", (2, 2, 1, 4), leading=""),
            landmarks_line("AFLW/0002-image2.jpg", (1, 1, 2, 2)),
        ]
    (mtfl / "training.txt").write_bytes("".join(training_lines).encode())
    (mtfl / "testing.txt").write_bytes("".join(testing_lines).encode())
    (mtfl / "readme.txt").write_text("fixture\n")
    return root


def zip_folder(folder: Path, archive: Path) -> Path:
    assert folder not in archive.parents, "an archive inside the folder it zips would grow forever"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return archive


@pytest.fixture
def mtfl_folder(tmp_path):
    return write_mtfl_folder(tmp_path / "unpacked")


@pytest.fixture
def mtfl_zip(tmp_path, mtfl_folder):
    return zip_folder(mtfl_folder, tmp_path / "MTFL.zip")


@pytest.fixture(scope="session")
def small_faces():
    from workflow_scripts.data.synthetic import make_synthetic_faces

    return make_synthetic_faces(n_train=600, n_test=200, image_size=16, seed=3)


def real_mtfl_or_skip():
    if not REAL_MTFL.exists():
        pytest.skip(f"the real MTFL archive is not at {REAL_MTFL}")
    return REAL_MTFL


@pytest.fixture
def project_copy(tmp_path):
    """A throw-away working folder for Snakemake runs (the workflow itself is read from ROOT)."""
    work = tmp_path / "work"
    work.mkdir()
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def small_study_run(tmp_path_factory):
    """The folder of SMALL_STUDY (tests/test_workflow.py) run once, locally, as far as
    SMALL_STUDY_TARGETS, for the tests that run it another way and compare. Under
    pytest-xdist the workers share one run: the first to ask runs it while the others wait
    on a lock; a failed run is tried again by the next."""
    from test_workflow import SMALL_STUDY, SMALL_STUDY_TARGETS, snakemake

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder above every worker's own
    folder, done = shared / "small_study", shared / "small_study.done"
    with open(shared / "small_study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            snakemake(folder, SMALL_STUDY, "--cores", "2", *SMALL_STUDY_TARGETS)
            done.touch()
    return folder


def offline_environment(folder: Path, environment=None) -> dict:
    """The environment for a command in a network namespace of its own (``unshare -rn``):
    ``environment`` (os.environ) with, first on PATH, an ``scontrol`` that fails at once. Where
    SLURM is installed, Snakemake's SLURM plugin asks ``scontrol show config`` each time
    Snakemake starts, and in the namespace SLURM's own client waits out its 10 s limit for a
    controller it cannot reach; the stand-in answers as quickly as a client with no network."""
    stubs = folder / "offline-bin"
    stubs.mkdir(parents=True, exist_ok=True)
    scontrol = stubs / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'scontrol: no network in this namespace to reach a SLURM controller' >&2\nexit 1\n")
    scontrol.chmod(0o755)
    environment = dict(os.environ if environment is None else environment)
    return {**environment, "PATH": f"{stubs}{os.pathsep}{environment.get('PATH', '')}"}
