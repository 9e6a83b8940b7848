"""Rule prepare_faces: read MTFL or render the synthetic set; write the face set."""

import logging

from workflow_scripts.atomic import write_csv
from workflow_scripts.faces import save_face_set
from workflow_scripts.stage import run_stage

log = logging.getLogger("prepare_faces")


def main(snakemake):
    data, settings = snakemake.params.data, snakemake.params.dataset
    if data["dataset"] == "mtfl":
        from workflow_scripts.mtfl import read_mtfl

        faces, skipped = read_mtfl(
            snakemake.input.archive, data["image_size"], settings["crop_margin"], settings["skip_bad_records"], snakemake.threads
        )
        if len(skipped):
            log.warning("skipped %d bad records (listed in %s):", len(skipped), snakemake.output.skipped)
            for row in skipped.itertuples():
                log.warning("  %s: %s", row.where, row.reason)
    else:
        import pandas as pd

        from workflow_scripts.synthetic_faces import make_synthetic_faces

        faces = make_synthetic_faces(settings["n_train"], settings["n_test"], data["image_size"], settings["seed"], settings["signal"])
        skipped = pd.DataFrame(columns=["where", "path", "reason"])
    log.info("%d faces (%s), images %s", len(faces.table), faces.table["split"].value_counts().to_dict(), tuple(faces.images.shape))
    write_csv(skipped, snakemake.output.skipped)
    save_face_set(faces, snakemake.output.images, snakemake.output.table)


run_stage(main, snakemake)  # noqa: F821 - injected by Snakemake
