# The CAE transfer-learning study (IEEE TETC 10(2), 2022), as a Snakemake workflow.
# Edit config.yaml, or give a whole config of your own with --configfile; the rules live
# in rules/, the logic in workflow_scripts/. See README.md.

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from workflow_scripts.study import config as study_config

min_version("9.0")


# A config file given with --configfile is the whole config (the schema's defaults fill
# what it leaves out), not a patch over config.yaml; --config values patch either.
if not workflow.overwrite_configfiles:
    try:  # Snakemake's own message for a broken config.yaml names no file
        study_config.read_config_file("config.yaml")
    except study_config.ConfigError as error:
        raise WorkflowError(str(error)) from None

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/paper_endpoint.smk"
include: "rules/quantize.smk"
include: "rules/energy.smk"
include: "rules/report.smk"


report: report_front_page()


onstart:
    refuse_unusable_device()


rule all:
    input:
        study_targets(),
    default_target: True
