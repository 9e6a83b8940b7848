"""What every stage entry point does around its work: clear what an interrupted earlier
attempt left, log to the rule's log file, use the rule's threads, and turn a failure into
one line on the terminal (the traceback goes to the log)."""

import logging
import os
import sys
import traceback

log = logging.getLogger("stage")


def run_stage(main, snakemake):
    """Call ``main(snakemake)`` with logging set up; exit 1 with a one-line error on failure.
    A stage whose modules do not import PyTorch (tables, plots) runs without loading it."""
    from workflow_scripts.atomic import partial_files

    for output in snakemake.output:  # a killed attempt leaves its temporary files behind
        for leftover in partial_files(output):
            leftover.unlink(missing_ok=True)
    handler = logging.FileHandler(snakemake.log[0], mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    threads = max(int(snakemake.threads), 1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    else:  # read by PyTorch if the stage loads it later (as at most the cores there are)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        main(snakemake)
    except Exception as error:  # noqa: BLE001 - the stage boundary: every failure is reported the same way
        log.error("%s", traceback.format_exc())
        message = str(error).splitlines()[0] if str(error) else ""
        if not isinstance(error, (ValueError, RuntimeError, OSError)) or not message:
            message = f"{type(error).__name__}: {message}".rstrip(": ")  # a bug, not bad input: say what kind
        print(f"rule {snakemake.rule} failed: {message} (details: {snakemake.log[0]})", file=sys.stderr)
        sys.exit(1)


def study_inputs(snakemake):
    """What the training stages read: the device (params.device), the face set
    (input.images, input.table), the roles (input.roles) and the architecture
    (params.network, at the images' size)."""
    from workflow_scripts.atomic import read_csv
    from workflow_scripts.data.faces import load_face_set
    from workflow_scripts.nn.architecture import Architecture
    from workflow_scripts.nn.training import choose_device

    faces = load_face_set(snakemake.input.images, snakemake.input.table)
    architecture = Architecture.from_config(snakemake.params.network, faces.images.shape[-1])
    return choose_device(snakemake.params.device), faces, read_csv(snakemake.input.roles), architecture
