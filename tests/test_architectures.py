"""The authors' per-experiment skip networks: layouts, parameter counts and the sizes they take."""

import pytest
import torch

from dipbench.errors import ConfigError
from dipbench.methods import get_method
from dipbench.methods.dip import paper_settings
from dipbench.methods.dip.architectures import ARCHITECTURES, layout, min_side
from dipbench.methods.dip.inputs import input_depth, network_input
from dipbench.methods.dip.network import SkipNet, count_parameters

# Parameter counts measured by instantiating the authors' code (docs/protocol.md sections 2 and 9).
AUTHORS_COUNTS = [
    ("default", 32, 2_217_831),
    ("text_inpainting", 32, 3_002_627),
    ("region_inpainting", 2, 2_157_955),
    ("large_holes", 1, 2_996_467),
    ("jpeg", 3, 572_827),
    ("flash", 3, 2_184_307),
]


@pytest.mark.parametrize("name, in_channels, count", AUTHORS_COUNTS)
def test_parameter_counts_match_the_authors_networks(name, in_channels, count):
    assert count_parameters(SkipNet(in_channels=in_channels, out_channels=3, **layout(name))) == count


@pytest.mark.parametrize("task, params, network, in_channels, count", [
    ("inpaint_holes", {"kind": "text"}, "text_inpainting", 32, 3_002_627),
    ("inpaint_holes", {"kind": "region"}, "region_inpainting", 2, 2_157_955),
    ("inpaint_holes", {"kind": "large_hole"}, "large_holes", 1, 2_996_467),
    ("jpeg", {}, "jpeg", 3, 572_827),
    ("flash", {}, "flash", 3, 2_184_307),
    ("denoise", {"sigma": 25}, "default", 32, 2_217_831),
])
def test_each_experiment_resolves_to_its_network_and_input(task, params, network, in_channels, count):
    settings = paper_settings(task, params)
    assert settings["network"] == network
    guide = torch.zeros(1, 3, 40, 40) if settings["input"] == "image" else None
    assert input_depth(settings["input"], settings.get("input_depth", 32), guide) == in_channels
    method = get_method("dip")(task)
    resolved = {**method.params, **settings}
    assert count_parameters(method.build_network(resolved, 3, in_channels=in_channels)) == count


def test_paper_settings_of_the_figure_experiments():
    text = paper_settings("inpaint_holes", {"kind": "text"})
    assert (text["steps"], text["lr"], text["reg_noise_std"], text["final_input"]) == (6001, 0.01, 0.03, "clean")
    region = paper_settings("inpaint_holes", {"kind": "region"})
    assert (region["input"], region["steps"], region["reg_noise_std"]) == ("meshgrid", 5001, 0.03)
    holes = paper_settings("inpaint_holes", {"kind": "large_hole"})
    assert (holes["input_depth"], holes["steps"], holes["reg_noise_std"]) == (1, 3001, 0.0)
    sparse = paper_settings("sparse", {})
    assert (sparse["network"], sparse["steps"], sparse["reg_noise_std"]) == ("sparse_pixels", 1000, 0.0)
    jpeg = paper_settings("jpeg", {})
    assert (jpeg["steps"], jpeg["reg_noise_std"], jpeg["input_depth"]) == (2400, 1 / 30, 3)
    flash = paper_settings("flash", {})
    assert (flash["input"], flash["lr"], flash["steps"], flash["reg_noise_std"]) == ("image", 0.1, 601, 0.0)
    impedance = paper_settings("impedance", {"target": "noise"})
    assert (impedance["network"], impedance["lr"], impedance["reg_noise_std"]) == ("default", 0.01, 0.0)


def test_sparse_pixels_layout_downsamples_by_average_pooling():
    net = SkipNet(in_channels=32, out_channels=3, **layout("sparse_pixels"))
    pools = [m for m in net.modules() if isinstance(m, torch.nn.AvgPool2d)]
    assert len(pools) == 5
    strided = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.stride != (1, 1)]
    assert not strided


def test_feature_inversion_layout_uses_zero_padding_and_its_kernels():
    net = SkipNet(in_channels=32, out_channels=3, **layout("feature_inversion"))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert {m.padding_mode for m in convs} == {"zeros"}
    assert {m.kernel_size[0] for m in convs} == {1, 3, 5, 7}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_layout_runs_at_its_minimum_side_and_keeps_odd_sizes(name):
    side = min_side(layout(name))
    spec = layout(name, channels=4, skip_channels="auto")
    spec["skip"] = tuple(min(s, 2) for s in spec["skip"])
    net = SkipNet(in_channels=2, out_channels=3, **spec)
    for size in (side, side + 7):
        assert net(torch.rand(1, 2, size, size + 3)).shape == (1, 3, size, size + 3)


def test_minimum_sides():
    assert min_side(layout("default")) == 33
    assert min_side(layout("large_holes")) == 129  # 5x5 reflection padding needs 3 px at the 6th scale
    assert min_side(layout("default", scales=3)) == 9


def test_reshaping_a_named_layout():
    spec = layout("large_holes", scales=3, channels=8)
    assert spec["down"] == spec["up"] == (8, 8, 8) and spec["skip"] == (0, 0, 0)
    spec = layout("flash", scales=7)
    assert spec["upsample_mode"] == ("nearest", "nearest", "bilinear", "bilinear", "bilinear", "bilinear", "bilinear")


def test_unknown_network_and_input_are_config_errors():
    with pytest.raises(ConfigError, match="unknown DIP network 'vase'"):
        layout("vase")
    with pytest.raises(ConfigError, match="unknown DIP input"):
        input_depth("grid", 32)
    with pytest.raises(ConfigError, match="guide image"):
        input_depth("image", 32, None)
    with pytest.raises(ConfigError, match="network"):
        get_method("dip")("denoise", network="vase")


def test_meshgrid_input_spans_zero_to_one_and_is_the_same_for_every_run():
    generators = [torch.Generator().manual_seed(s) for s in (0, 1)]
    z = network_input("meshgrid", (5, 9), 32, 0.1, generators, torch.device("cpu"))
    assert z.shape == (1, 4, 5, 9)
    x, y = z[0, 0], z[0, 1]
    assert torch.allclose(x[0], torch.linspace(0, 1, 9)) and torch.allclose(y[:, 0], torch.linspace(0, 1, 5))
    assert torch.equal(z[:, :2], z[:, 2:])


def test_noise_input_is_scaled_uniform_per_run_generator():
    z = network_input("noise", (16, 16), 3, 0.1, [torch.Generator().manual_seed(4)], torch.device("cpu"))
    assert z.shape == (1, 3, 16, 16) and 0 <= float(z.min()) and float(z.max()) <= 0.1
    again = network_input("noise", (16, 16), 3, 0.1, [torch.Generator().manual_seed(4)], torch.device("cpu"))
    assert torch.equal(z, again)
