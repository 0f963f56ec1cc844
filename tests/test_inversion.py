"""The natural pre-image task (feature inversion, the DIP paper's fig. 9) and its AlexNet."""

import hashlib

import numpy as np
import pytest
import torch

from dipbench.errors import ConfigError, ImageError
from dipbench.methods import RunContext, get_method
from dipbench.methods.dip.settings import paper_settings
from dipbench.tasks import Observation, get_task_class, make_task, task_names, task_of, task_title
from dipbench.tasks import alexnet, inversion

#: torchvision.models.alexnet().state_dict() keys and shapes
TORCHVISION_KEYS = {
    "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
    "classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,),
    "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,),
    "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,),
}


def _image(side, seed=0):
    return np.random.default_rng(seed).random((side, side, 3)).astype(np.float32)


def _one_line_config_error(call, *needles):
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message
    return message


@pytest.fixture(scope="module")
def random_net():
    return make_task("inversion", weights="random")._network()[0]


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory, random_net):
    path = tmp_path_factory.mktemp("alexnet") / "alexnet-test.pth"
    torch.save(random_net.state_dict(), path)
    return path


def test_registered_with_the_paper_settings():
    assert "inversion" in task_names() and task_title("inversion") == "Natural pre-image"
    task = make_task("inversion", weights="random")
    assert task.describe() == "Natural pre-image, AlexNet fc6 (random weights)"
    assert make_task("inversion", layer="conv5", weights="/x/alexnet-owt-7be5be79.pth").describe() == \
        "Natural pre-image, AlexNet conv5"
    assert paper_settings("inversion", task.params) == {
        "network": "feature_inversion", "input": "noise", "input_depth": 32, "input_scale": 0.1,
        "reg_noise_std": 0.0, "lr": 0.001, "steps": 3100, "output": "last", "final_input": "clean", "pad_input": 0}
    # the slug names the file, not its folder
    assert make_task("inversion", weights="/a/b/alexnet-owt-7be5be79.pth").slug == \
        "inversion_layerfc6_weightsalexnet-owt-7be5be79"
    assert set(get_task_class("inversion").cli_options) == {"layer", "weights"}


def test_layer_table_is_alexnets():
    assert inversion.LAYERS == tuple(alexnet.LAYERS)
    assert inversion.MIN_SIDE == alexnet.MIN_SIDE and inversion.WEIGHTS_FILE == alexnet.TORCHVISION_FILE


def test_bad_parameters_are_config_errors():
    _one_line_config_error(lambda: make_task("inversion", layer="fc9"), "`layer`", "fc6")
    _one_line_config_error(lambda: make_task("inversion", weights=3), "`weights`")
    _one_line_config_error(lambda: make_task("inversion", weights="w.pth", weights_sha256="abc"), "`weights_sha256`")
    _one_line_config_error(lambda: make_task("inversion", weights="random", weights_sha256="0" * 64),
                           "`weights_sha256`")
    # the file is not needed to construct (and plan) the task, only to make an observation
    make_task("inversion", weights="/no/such/alexnet.pth", weights_sha256="A" * 64)


def test_random_alexnet_has_torchvisions_layout(random_net):
    assert sum(p.numel() for p in random_net.parameters()) == alexnet.PARAMETER_COUNT == 61_100_840
    assert {k: tuple(v.shape) for k, v in random_net.state_dict().items()} == TORCHVISION_KEYS
    assert not random_net.training and not any(p.requires_grad for p in random_net.parameters())
    again = alexnet.random_alexnet()  # seeded: the same network every time
    assert torch.equal(again.features[0].weight, random_net.features[0].weight)
    assert torch.equal(again.classifier[6].bias, random_net.classifier[6].bias)


def test_feature_shapes_at_227_px(random_net):
    x = torch.rand(1, 3, 227, 227, generator=torch.Generator().manual_seed(0))
    expected = {"conv1": (1, 64, 56, 56), "pool1": (1, 64, 27, 27), "pool2": (1, 192, 13, 13),
                "conv5": (1, 256, 13, 13), "pool5": (1, 256, 6, 6), "fc6": (1, 4096), "fc7": (1, 4096),
                "fc8": (1, 1000)}
    with torch.no_grad():
        features = {layer: alexnet.layer_features(random_net, x, layer) for layer in expected}
        assert {k: tuple(v.shape) for k, v in features.items()} == expected
        normalised = (x - torch.tensor(alexnet.IMAGENET_MEAN).view(1, 3, 1, 1)) / \
            torch.tensor(alexnet.IMAGENET_STD).view(1, 3, 1, 1)
        torch.testing.assert_close(features["fc8"], random_net(normalised))  # = torchvision's forward, eval
        # fc6 is the linear layer's output, before its ReLU
        assert (features["fc6"] < 0).any()
        torch.testing.assert_close(alexnet.layer_features(random_net, x, "relu6"), features["fc6"].clamp(min=0))


def test_observation_operator_and_features():
    task = make_task("inversion", weights="random", layer="fc6")
    image = _image(72)
    obs = task.degrade(image, np.random.default_rng(0))
    assert obs.y.shape == (72, 72, 3) and obs.y.dtype == np.float32
    np.testing.assert_array_equal(obs.y, image)
    np.testing.assert_array_equal(obs.gt, image)
    assert tuple(obs.target) == (0, 0, 72, 72) and obs.task_params["weights_sha256"] is None
    y = task.observed(obs)
    assert y.shape == (1, 4096) and not y.requires_grad
    x = torch.as_tensor(image).permute(2, 0, 1)[None]
    torch.testing.assert_close(task.operator(obs)(x), y)
    padded = torch.nn.functional.pad(x, (2,) * 4, mode="reflect")
    torch.testing.assert_close(task.operator(obs, pad=2)(padded), y)
    with pytest.raises(ImageError, match="network output is 64x64 px but the image 72x72 px"):
        task.operator(obs)(x[..., :64, :64])
    assert make_task("inversion", weights="random").observe(image).gt is None


def test_gray_and_small_images_are_image_errors():
    task = make_task("inversion", weights="random")
    with pytest.raises(ImageError, match="RGB"):
        task.degrade(_image(72)[..., :1], np.random.default_rng(0))
    with pytest.raises(ImageError, match="63 px"):
        task.degrade(_image(40), np.random.default_rng(0))


def test_weights_file_loads_and_its_sha256_is_recorded(weights_file, random_net, tmp_path):
    sha = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    task = make_task("inversion", weights=str(weights_file))
    obs = task.degrade(_image(72), np.random.default_rng(0))
    assert obs.task_params == {"layer": "fc6", "weights": str(weights_file), "weights_sha256": sha}
    obs.save(tmp_path / "obs.npz")
    again = Observation.load(tmp_path / "obs.npz")
    assert again.task_params["weights_sha256"] == sha
    loaded = task_of(again)._network()[0]
    assert loaded is not random_net
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), random_net.state_dict().values()))
    assert not any(p.requires_grad for p in loaded.parameters())
    torch.testing.assert_close(task_of(again).observed(again),
                               make_task("inversion", weights="random").observed(again))
    # a given sha256 that matches (any case) is accepted
    make_task("inversion", weights=str(weights_file), weights_sha256=sha.upper()).degrade(
        _image(72), np.random.default_rng(0))


def test_wrong_sha256_missing_garbage_and_unset_weights(weights_file, tmp_path):
    image, rng = _image(72), np.random.default_rng(0)
    _one_line_config_error(
        lambda: make_task("inversion", weights=str(weights_file), weights_sha256="0" * 64).degrade(image, rng),
        "`weights_sha256`", "0" * 64)
    _one_line_config_error(lambda: make_task("inversion", weights=str(tmp_path / "none.pth")).degrade(image, rng),
                           "`weights`", "no such file")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle at all\n" * 10)
    _one_line_config_error(lambda: make_task("inversion", weights=str(garbage)).degrade(image, rng),
                           "`weights`", "not a readable")
    wrong_keys = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(2, 3, 1, 1), "features.0.weight": torch.zeros(1)}, wrong_keys)
    _one_line_config_error(lambda: make_task("inversion", weights=str(wrong_keys)).degrade(image, rng),
                           "`weights`", "not a torchvision AlexNet state_dict", "missing features.0.bias")
    _one_line_config_error(lambda: make_task("inversion", weights=str(tmp_path)).degrade(image, rng), "`weights`")
    unset = make_task("inversion")
    for call in (lambda: unset.degrade(image, rng), lambda: unset.observe(image)):
        message = _one_line_config_error(call, "`weights` is not set", "alexnet-owt-7be5be79.pth", "--weights")
        assert message.startswith("task inversion:")


def test_dip_fits_the_features():
    obs = make_task("inversion", weights="random").degrade(_image(72), np.random.default_rng(0))
    small = {"scales": 3, "channels": 8, "input_depth": 4}  # the paper's 6-scale network needs 128 px
    result = get_method("dip")("inversion", steps=3, log_every=1, precision="fp32", **small).restore(
        obs, RunContext(seed=0))
    assert result.image.shape == (72, 72, 3) and np.isfinite(result.image).all()
    resolved = result.info["params_resolved"]
    assert (resolved["network"], resolved["lr"], resolved["reg_noise_std"]) == ("feature_inversion", 0.001, 0.0)
    fit = get_method("dip")("inversion", steps=20, lr=0.01, log_every=20, precision="fp32", **small).restore(
        obs, RunContext(seed=0))
    loss = fit.curve["loss"].to_numpy()
    assert np.isfinite(loss).all() and loss[-5:].max() < 0.5 * loss[0]
