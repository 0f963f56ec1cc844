"""Metrics: PSNR and SSIM under named protocols (:mod:`.protocols`, a registry: ``dip_paper``,
``basicsr``), and the display facts of every metric column (:mod:`.facts`) that tables and figures read.
numpy and scikit-image only, so scoring jobs start without importing torch."""

from .facts import METRICS, MetricFacts, metric_facts
from .protocols import dip_sr_region, protocol_names, psnr, register_protocol, score, ssim

__all__ = ["METRICS", "MetricFacts", "dip_sr_region", "metric_facts", "protocol_names", "psnr",
           "register_protocol", "score", "ssim"]
