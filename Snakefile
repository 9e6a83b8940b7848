# The CAE transfer-learning study (IEEE TETC 10(2), 2022), as a Snakemake workflow.
# Edit config.yaml (or pass --configfile); the rules live in rules/, the logic in
# workflow_scripts/. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/energy.smk"
include: "rules/report.smk"


rule all:
    input:
        study_targets(),
    default_target: True
