"""K runs fused into one grouped network give the results of K separate runs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dipbench.errors import ConfigError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip import fit_fused, fuse_networks
from dipbench.methods.dip.network import SkipNet
from dipbench.tasks import make_task

# lr 0.001 (the paper's inpainting lr): Adam's first steps move every weight by about +-lr whatever the size
# of its gradient, so at lr 0.01 the float-rounding differences of grouped convolutions in parameters
# whose gradient is mathematically zero (conv biases before BatchNorm) grow visibly within a few steps,
# as they would between two thread counts; at 0.001 the runs stay equal to ~1e-6 over these steps.
# fp32: fused and separate runs agree to ~1e-5 only in fp32 (DIP defaults to precision auto)
TINY = {"steps": 6, "channels": 8, "scales": 2, "log_every": 2, "input_depth": 4, "lr": 0.001, "precision": "fp32"}
NET = dict(in_channels=4, out_channels=3, down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3)


def _observations(image, task="denoise", count=3, **params):
    t = make_task(task, **params)
    flipped = [image, image[::-1].copy(), image[:, ::-1].copy()]
    return [t.degrade(t.prepare_gt(flipped[i % 3]), np.random.default_rng(i)) for i in range(count)]


def test_fused_network_computes_the_separate_networks():
    """In float64, so that grouped and dense convolutions agree far inside the tolerance on any CPU's kernels."""
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(SkipNet(**NET).double())
    fused = fuse_networks(nets, SkipNet(**NET, groups=3).double())
    zs = [torch.rand(1, 4, 48, 40, dtype=torch.float64) for _ in range(3)]
    ys = [torch.rand(1, 3, 48, 40, dtype=torch.float64) for _ in range(3)]
    outs = [net(z) for net, z in zip(nets, zs)]
    fused_out = fused(torch.cat(zs, dim=1))
    for out, part in zip(outs, fused_out.chunk(3, dim=1)):
        torch.testing.assert_close(part, out, atol=1e-5, rtol=0)
    for out, y in zip(outs, ys):
        F.mse_loss(out, y).backward()
    sum(F.mse_loss(part, y) for part, y in zip(fused_out.chunk(3, dim=1), ys)).backward()
    scale = max(p.grad.abs().max() for net in nets for p in net.parameters())
    for fused_p, *singles in zip(fused.parameters(), *(net.parameters() for net in nets)):
        for part, single in zip(fused_p.grad.chunk(3, dim=0), singles):
            torch.testing.assert_close(part, single.grad, atol=1e-5 * float(scale), rtol=1e-4)


@pytest.mark.parametrize("task, params", [("denoise", {}), ("sr", {"scale": 4}), ("inpaint", {})])
def test_fit_fused_equals_separate_runs(smooth_rgb, task, params):
    """Tolerances: 1e-5, or ten times what the same separate run differs by between one and two threads
    where a CPU's kernels round more than that (see the next test). For SR the image's tolerance is 2e-3:
    detail in the downsampler's null space is invisible to the loss, so rounding differences there are
    never corrected (on a Zen 3 EPYC, AVX2 only, one of the three runs differed by 6.5e-4 in the image
    while its loss agreed to 1e-6); the loss, which sees everything the fit does, keeps its tolerance."""
    observations = _observations(smooth_rgb, task, **params)
    seeds = [5, 6, 7]
    dip = get_method("dip")
    separate = [_with_threads(1, lambda o=obs, s=seed: dip(task, **TINY).restore(o, RunContext(seed=s)))
                for obs, seed in zip(observations, seeds)]
    two = _with_threads(2, lambda: dip(task, **TINY).restore(observations[0], RunContext(seed=seeds[0])))
    null_space = 2e-3 if make_task(task, **params).upscales else 1e-5
    atol = max(null_space, 10 * float(np.abs(two.image - separate[0].image).max()))
    rtol = max(1e-5, 10 * float(np.max(np.abs(two.curve["loss"] / separate[0].curve["loss"] - 1))))
    fused = _with_threads(1, lambda: fit_fused(observations, TINY, seeds=seeds))
    for one, many in zip(separate, fused):
        np.testing.assert_allclose(many.image, one.image, atol=atol, rtol=0)
        np.testing.assert_allclose(many.curve["loss"], one.curve["loss"], rtol=rtol)
        np.testing.assert_allclose(many.curve["psnr_ema"], one.curve["psnr_ema"], rtol=rtol)
        assert many.info["fused_runs"] == 3 and many.info["params_resolved"] == one.info["params_resolved"]


def _with_threads(threads, function):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return function()
    finally:
        torch.set_num_threads(before)


def test_fit_fused_seeds_of_one_image_and_early_stopping(smooth_rgb):
    """Over 24 steps rounding differences grow, by how much depends on the CPU's kernels (an AMD EPYC
    differed by up to 0.005 where an Intel Xeon stayed within 1e-5). The tolerance is therefore measured:
    ten times what the same separate runs differ by between one and two threads (the larger of the two
    seeds: one seed alone measured 2e-5 where the fused run of the other differed by 2.3e-4), at least
    1e-3."""
    obs = _observations(smooth_rgb, count=1)[0]
    params = {**TINY, "steps": 24, "early_stopping": {"window": 3, "patience": 4, "stop": False}}
    dip_es = get_method("dip_es")
    separate = [_with_threads(1, lambda s=s: dip_es("denoise", **params).restore(obs, RunContext(seed=s)))
                for s in (1, 2)]
    two_threads = [_with_threads(2, lambda s=s: dip_es("denoise", **params).restore(obs, RunContext(seed=s)))
                   for s in (1, 2)]
    atol = max(1e-3, 10 * max(float(np.abs(two.image - one.image).max())
                              for one, two in zip(separate, two_threads)))
    fused = _with_threads(1, lambda: fit_fused([obs, obs], params, seeds=[1, 2], method=dip_es))
    for one, many in zip(separate, fused):
        assert many.info["es_step"] == one.info["es_step"] and many.info["stop_step"] == one.info["stop_step"]
        np.testing.assert_allclose(many.image, one.image, atol=atol, rtol=0)
    assert np.abs(fused[0].image - fused[1].image).max() > 10 * atol  # different seeds, different runs


def test_fit_fused_rejects_mixed_sizes(smooth_rgb):
    t = make_task("denoise")
    a = t.degrade(smooth_rgb, np.random.default_rng(0))
    b = t.degrade(smooth_rgb[:48], np.random.default_rng(0))
    with pytest.raises(ConfigError, match="same task"):
        fit_fused([a, b], TINY)
    with pytest.raises(ConfigError, match="seeds"):
        fit_fused([a, a], TINY, seeds=[1])


def test_job_restore_of_several_seeds_fuses_them_and_writes_each_run(tmp_path, smooth_rgb):
    """The workflow's fused job (``dipbench job restore --seed 0 1 --out-dir a b``) equals separate jobs."""
    from dipbench.imaging.io import read_image
    from dipbench.pipeline.jobs import restore, restore_seeds

    obs = _observations(smooth_rgb, count=1)[0]
    obs.dataset, obs.image, obs.seed = "builtin", "smooth", 0
    obs.save(tmp_path / "obs.npz")
    fused = restore_seeds(tmp_path / "obs.npz", "dip", TINY, [0, 1], [tmp_path / "f0", tmp_path / "f1"],
                          device="cpu", identity={"label": "dip"})
    for seed, record in enumerate(fused):
        single = restore(tmp_path / "obs.npz", "dip", TINY, seed, tmp_path / f"s{seed}", device="cpu")
        assert record["run_seed"] == single["run_seed"] and record["seed"] == seed and record["label"] == "dip"
        assert record["info"]["fused_runs"] == 2 and single["info"]["fused_runs"] == 1
        images = [read_image(tmp_path / f"{d}{seed}" / "restored.png", "rgb") for d in ("f", "s")]
        assert np.abs(images[0] - images[1]).max() <= 1 / 255 + 1e-6  # equal up to 8-bit rounding
        assert (tmp_path / f"f{seed}" / "run.json").is_file() and (tmp_path / f"f{seed}" / "curve.csv").is_file()
    assert fused[0]["run_seed"] != fused[1]["run_seed"]


@pytest.mark.parametrize("impl", ["foreach", "fused"])
def test_foreach_and_fused_adam_follow_the_loop_adam(impl):
    """float64, so that the three operation orders of Adam's update agree far inside the tolerance."""
    from dipbench.methods.dip.compiled import adam_impl, make_optimizer

    nets = []
    for _ in range(2):
        torch.manual_seed(0)
        nets.append(SkipNet(**NET).double())
    optimizers = [make_optimizer(nets[0].parameters(), 0.01, "cpu", impl="loop"),
                  make_optimizer(nets[1].parameters(), 0.01, "cpu", impl=impl)]
    assert [adam_impl(o) for o in optimizers] == ["loop", impl]
    z, y = torch.rand(1, 4, 24, 24, dtype=torch.float64), torch.rand(1, 3, 24, 24, dtype=torch.float64)
    for _ in range(5):
        for net, optimizer in zip(nets, optimizers):
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(net(z), y).backward()
            optimizer.step()
    moved = max(float((p - q).abs().max()) for p, q in zip(nets[0].parameters(), SkipNet(**NET).parameters()))
    assert moved > 1e-3  # the steps did something
    # 1e-9: conv biases before a BatchNorm have a zero gradient up to rounding, which Adam normalises
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(q, p, atol=1e-9, rtol=1e-8)


def test_dip_records_its_adam_and_compile_paths_and_falls_back_when_compiling_fails(smooth_rgb, monkeypatch):
    from dipbench.methods.dip import compiled

    obs = _observations(smooth_rgb, count=1)[0]
    dip = get_method("dip")
    # PyTorch's own convolutions, as a compiled fit takes them (NNPACK's are for eager fits: .nnpack)
    plain = dip("denoise", **TINY, conv_backend="torch").restore(obs, RunContext(seed=3))
    assert plain.info["adam"] == "loop" and plain.info["compile"] == "off"  # PyTorch's default Adam on the CPU

    def broken(net, mode=None):
        def call(x):
            raise RuntimeError("no C++ compiler\nmore detail")
        return call

    monkeypatch.setattr(compiled.torch, "compile", broken)
    fallback = dip("denoise", **{**TINY, "compile": True}).restore(obs, RunContext(seed=3))
    assert fallback.info["compile"] == "failed (RuntimeError: no C++ compiler): eager"
    assert fallback.info["conv_backend"] == "torch"
    np.testing.assert_array_equal(fallback.image, plain.image)


def test_compiled_network_matches_eager():
    """The one torch.compile test (tens of seconds): a tiny network, fp32, forward and gradients."""
    import shutil

    from dipbench.methods.dip.compiled import compile_network

    if not (shutil.which("gcc") or shutil.which("g++") or shutil.which("cc")):
        pytest.skip("torch.compile (inductor) needs a C++ compiler; none on PATH")
    torch.manual_seed(0)
    net = SkipNet(in_channels=2, out_channels=3, down=(4,) * 2, up=(4,) * 2, skip=(1,) * 2)
    model, record = compile_network(net, True, "cpu")
    z = torch.rand(1, 2, 16, 16)
    out = model(z)
    if record["compile"].startswith("failed"):
        pytest.skip(f"torch.compile unavailable here: {record['compile']}")
    assert record["compile"] == "inductor"
    expected = net(z)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    (got,) = torch.autograd.grad(out.square().mean(), [net.body.merge[1].weight])
    (want,) = torch.autograd.grad(expected.square().mean(), [net.body.merge[1].weight])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
