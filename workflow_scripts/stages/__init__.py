"""Thin entry points that Snakemake's ``script:`` directives run, one per rule."""
