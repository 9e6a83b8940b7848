"""Rule estimate_layer_energy: ZigZag's cost of every layer of the study's networks on one hardware."""

import logging

from workflow_scripts.atomic import write_csv
from workflow_scripts.deploy.energy import WORD_BITS, layer_costs
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.stage import run_stage

log = logging.getLogger("estimate_layer_energy")


def main(snakemake):
    p = snakemake.params
    architecture = Architecture.from_config(p.network, p.image_size)
    # the rule names the width only where the config sets another (common.smk's energy_precision)
    bits = p.precision["precision_bits"] if hasattr(p, "precision") else WORD_BITS
    log.info("weights and activations %d bits wide", bits)
    layers = layer_costs(architecture, p.class_counts, snakemake.input.hardware, snakemake.input.mapping, p.work_folder,
                         precision_bits=bits)
    for row in layers.itertuples():
        log.info("%s (%d classes): %d MACs, %.0f pJ, %.0f cycles, %.2fx the compulsory-traffic bound",
                 row.layer, row.head_classes, row.macs, row.energy_pj, row.latency_cycles, row.zigzag_over_lower_bound)
    write_csv(layers, snakemake.output.layers)


run_stage(main, snakemake)  # noqa: F821
