"""An example plugin: a median-filter denoiser as a dipbench method.

Use it from a config (``plugins: [examples/median_filter.py]`` and ``median`` in an experiment's
``methods``), from the command line (``dipbench restore noisy.png --task denoise --method median
--plugin examples/median_filter.py -o out.png``) or through ``$DIPBENCH_PLUGINS``. README "Adding a
method" describes everything a method may use.
"""

from scipy.ndimage import median_filter

from dipbench.methods import Method, Restoration, register
from dipbench.methods.params import Rule


@register
class Median(Method):
    """Median filter over a size x size window of each channel (a toy baseline)."""

    name = "median"
    problems = ("denoising",)  # every task of this kind: denoise, flash, jpeg and plugin tasks
    defaults = {"size": 3}
    param_rules = {"size": Rule(int, low=1, high=31)}  # checked before any job starts
    smoke = {"size": 3}  # tiny parameters for tests (config `smoke: true`)
    seeded = False  # deterministic: the workflow runs it once per observation
    version = "1"  # bump to rerun its jobs (editing this file also reruns them)

    def restore(self, obs, ctx):
        # obs.y: the degraded image, (H, W, C) float32 in [0, 1]; the result must cover obs.target
        size = self.params["size"]
        return Restoration(median_filter(obs.y, size=(size, size, 1)), info={"window_px": size})
