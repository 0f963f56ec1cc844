"""Images as arrays: reading and writing (:mod:`.io`), pixel geometry (:mod:`.geometry`), colour
(:mod:`.color`), resizing kernels (:mod:`.resize`, numpy/PIL) and differentiable operators built on them
(:mod:`.operators`, torch).

Convention everywhere: an image is an (H, W, C) float32 array in [0, 1] with C = 1 (gray) or 3 (RGB);
torch tensors are (N, C, H, W).
"""
