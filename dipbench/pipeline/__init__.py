"""The workflow's engine, usable without Snakemake: :mod:`.plan` validates a config (schema as package
data) and lists every job it implies; :mod:`.jobs` runs one job (prepare an observation, restore, average
runs, evaluate). The Snakemake rules are thin calls of these through ``dipbench job ...``."""
