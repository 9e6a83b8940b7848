"""Library of the CAE transfer-learning study pipeline.

Each module owns one concern; the thin entry points that Snakemake calls live in
``workflow_scripts.stages``. Tests import these modules directly.
"""
