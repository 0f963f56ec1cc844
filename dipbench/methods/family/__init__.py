"""The DIP family: untrained-network restoration methods to compare against DIP, one module each.

- :mod:`.deep_decoder`  Deep Decoder (Heckel & Hand, ICLR 2019): an under-parameterised decoder of 1x1
  convolutions, bilinear upsampling, ReLU and BatchNorm, fitted through the task's operator.
- :mod:`.dip_tv`        DIP-TV (Liu, Sun, Xu, Kamilov, ICASSP 2019): DIP plus a total-variation term.
- :mod:`.dip_sgld`      Bayesian DIP with SGLD (Cheng, Gadelha, Maji, Sheldon, CVPR 2019): Langevin noise on
  the weights, the posterior mean of sampled outputs after a burn-in.
- :mod:`.zs_n2n`        ZS-N2N (Mansour & Heckel, CVPR 2023): a zero-shot Noise2Noise denoiser.

Each method is its step function on the fitting loop it shares with DIP (:mod:`dipbench.methods.fitting`:
loss buffer on the device, oracle PSNR every ``log_every`` steps, NaN and divergence checks, the result
record), and the DIP-based ones share DIP's network, input, per-task settings and per-fit setup
(:mod:`.dip_variant`, on top of :mod:`dipbench.methods.dip` and its :mod:`~dipbench.methods.dip.setup`).
Each method module registers itself; ``BUILTIN_MODULES`` in :mod:`dipbench.methods.registry` lists them.

Every method has DIP's ``precision`` switch (:mod:`dipbench.methods.precision`): ``"auto"`` (the default)
runs bf16 autocast where the hardware has native bf16, with fp32 weights, optimiser state, loss and output
layer. That bf16 keeps the numbers was measured for DIP only (benchmarks/README.md), not for these methods:
for a faithful comparison run them with ``precision: fp32`` (the workflow's ``precision`` setting or
``--profile profiles/faithful``); every result records the precision it ran with.
"""
