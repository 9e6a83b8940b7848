"""Dry runs of many configs in one interpreter, through Snakemake's API: a process that
starts Snakemake pays about 2 CPU seconds importing it and its plugins, a dry run inside
one already started about 0.4 s. tests/test_workflow.py's rerun contract runs one per row
of its table.

    python tests/dry_runs.py SNAKEFILE WORKDIR CONFIG...

prints one JSON object: config path -> {"ok": bool, "stdout": what Snakemake printed (its
job-stats table among it), "error": the exception, if one ended the dry run}.
"""

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings


def dry_run(snakefile: Path, workdir: Path, config: Path) -> dict:
    printed = io.StringIO()
    try:
        # stdout=True: Snakemake's log handler writes to sys.stdout as it is when the API
        # starts, here this config's buffer
        with contextlib.redirect_stdout(printed), SnakemakeApi(OutputSettings(dryrun=True, stdout=True)) as api:
            workflow = api.workflow(resource_settings=ResourceSettings(cores=2), snakefile=snakefile, workdir=workdir,
                                    config_settings=ConfigSettings(configfiles=[config]))
            workflow.dag().execute_workflow(executor="dryrun")
    except Exception:  # noqa: BLE001 - reported to the test, which fails on it
        return {"ok": False, "stdout": printed.getvalue(), "error": traceback.format_exc()}
    said = printed.getvalue()
    if "Job stats:" not in said and "Nothing to be done" not in said:  # its log went elsewhere: no plan to read
        return {"ok": False, "stdout": said, "error": "the dry run printed neither its job stats nor 'Nothing to be done'"}
    return {"ok": True, "stdout": said, "error": ""}


def main(argv):
    snakefile, workdir, configs = Path(argv[0]), Path(argv[1]), argv[2:]
    results = {config: dry_run(snakefile, workdir, Path(config)) for config in configs}
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
