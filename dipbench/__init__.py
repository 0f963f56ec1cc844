"""dipbench: a reproducible benchmark harness for Deep Image Prior (Ulyanov et al., CVPR 2018)."""

__version__ = "0.1.0"
