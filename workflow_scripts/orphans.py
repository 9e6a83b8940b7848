"""The jobs a Snakemake killed outright (``kill -9``, the out-of-memory killer) left running
in a project folder (docs/workflow.md#interruptions).

    python -m workflow_scripts.orphans [--stop] [FOLDER]

lists the PID and command line of every process whose command line holds
``FOLDER/.snakemake/scripts/`` (FOLDER: the current one), as plain text: unlike the pattern
of ``pgrep -f``, a ``+``, ``(`` or ``.`` in the path means itself. ``--stop`` sends each
of them SIGTERM and waits for them to end.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def scripts_folder(folder) -> str:
    return f"{Path(folder).absolute()}/.snakemake/scripts/"


def running_jobs(folder) -> dict[int, str]:
    """PID -> command line of the processes running a job script of ``folder``'s Snakemake."""
    listed = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    wanted, jobs = scripts_folder(folder), {}
    for line in listed.splitlines():
        pid, _, command = line.strip().partition(" ")
        if wanted in command and int(pid) != os.getpid():
            jobs[int(pid)] = command.strip()
    return jobs


def stop(jobs: dict[int, str], timeout: float = 30) -> list[int]:
    """SIGTERM to each job, then wait up to ``timeout`` seconds; the PIDs still running."""
    for pid in jobs:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    alive = list(jobs)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if _alive(pid)]
    return alive


def _alive(pid: int) -> bool:
    try:  # a child of ours that ended is a zombie until reaped
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=".", help="the project folder (default: the current one)")
    parser.add_argument("--stop", action="store_true", help="send them SIGTERM and wait for them to end")
    args = parser.parse_args(argv)
    jobs = running_jobs(args.folder)
    if not jobs:
        print(f"no job of {scripts_folder(args.folder)} is running")
        return 0
    for pid, command in jobs.items():
        print(pid, command)
    if args.stop:
        alive = stop(jobs)
        if alive:
            print(f"still running after SIGTERM: {' '.join(map(str, alive))} (kill -9 them)", file=sys.stderr)
            return 1
        print(f"stopped {len(jobs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
