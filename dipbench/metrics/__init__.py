"""Metrics: PSNR and SSIM under named protocols (:mod:`.protocols`, a registry: ``dip_paper``,
``basicsr``), the registry of metrics every result is scored with (:mod:`.registry`; built in: PSNR, SSIM
and :mod:`.missing`'s PSNR over the missing pixels of inpainting), and how each metric and record column is
shown (:func:`metric_facts`). numpy and scikit-image only, so scoring jobs start without importing torch."""

from . import missing  # noqa: F401  (registers psnr_missing)
from .facts import COLUMN_FACTS, MetricFacts
from .measures import psnr, ssim
from .protocols import dip_sr_region, protocol_names, register_protocol, score
from .registry import Metric, Scored, metric_facts, metric_names, metrics, register_metric

__all__ = ["COLUMN_FACTS", "Metric", "MetricFacts", "Scored", "dip_sr_region", "metric_facts", "metric_names",
           "metrics", "protocol_names", "psnr", "register_metric", "register_protocol", "score", "ssim"]
