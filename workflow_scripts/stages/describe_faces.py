"""Rule describe_faces: label balance per role and a preview of the faces."""

from workflow_scripts.atomic import read_csv, write_csv
from workflow_scripts.data.faces import load_face_set
from workflow_scripts.data.label_balance import label_balance
from workflow_scripts.report.plots import face_preview
from workflow_scripts.stage import run_stage


def main(snakemake):
    faces = load_face_set(snakemake.input.images, snakemake.input.table)
    roles = read_csv(snakemake.input.roles)
    classes = snakemake.params.classes
    write_csv(label_balance(faces.table, roles, classes), snakemake.output.balance)
    face_preview(faces.images, faces.table, roles, classes, snakemake.output.preview)


run_stage(main, snakemake)  # noqa: F821
