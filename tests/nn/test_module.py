"""Module: registration, dotted names, scopes, modes, state dicts, repr."""

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.errors import StateDictError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, rng=0)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(Block(), nn.Flatten())
        self.head = nn.Linear(2 * 6 * 6, 3, rng=1)

    def forward(self, x):
        return self.head(self.features(x))


def test_named_parameters_are_dotted_paths_and_set_parameter_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["features.0.conv.weight", "features.0.conv.bias", "head.weight", "head.bias"]
    assert [p.name for p in net.parameters()] == names


def test_names_are_set_on_registration_without_calling_named_parameters():
    net = Net()
    assert net.features[0].conv.weight.name == "features.0.conv.weight"


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    assert isinstance(p, minigrad.Tensor)
    assert p.requires_grad and p.is_leaf


def test_every_node_records_the_module_scope():
    net = Net()
    out = net(np.zeros((1, 1, 8, 8), dtype=np.float32))
    assert out.grad_fn.scope == ("Net", "head")
    relu_node = out.grad_fn.parents[0].grad_fn.parents[0].grad_fn
    assert relu_node.name == "relu"
    assert relu_node.scope == ("Net", "features", "0", "act")
    conv_node = relu_node.parents[0].grad_fn
    assert conv_node.scope == ("Net", "features", "0", "conv")


def test_sequential_scope_uses_the_child_index():
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    assert model(np.ones((1, 2), dtype=np.float32)).grad_fn.scope == ("Sequential", "0")


def test_modules_and_children():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "Linear"]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "features",
        "features.0",
        "features.0.conv",
        "features.0.act",
        "features.1",
        "head",
    ]
    assert len(list(net.modules())) == 7


def test_shared_parameter_is_listed_once():
    a = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(model.parameters()) == 2


def test_zero_grad_forgets_gradients():
    net = Net()
    minigrad.sum(net(np.ones((2, 1, 8, 8), dtype=np.float32))).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_and_eval_propagate():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_round_trip_is_in_place():
    net, other = Net(), Net()
    for p in other.parameters():
        p.data += 1
    weight = net.head.weight.data
    net.load_state_dict(other.state_dict())
    assert net.head.weight.data is weight  # the optimiser's arrays stay the same objects
    for (k, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_state_dict_is_a_copy():
    net = Net()
    state = net.state_dict()
    state["head.bias"] += 5
    assert not np.any(net.head.bias.data == 5)


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys():
    net = Net()
    state = net.state_dict()
    del state["head.bias"]
    state["head.extra"] = np.zeros(1)
    with pytest.raises(
        StateDictError, match=r"missing keys: head\.bias.*unexpected keys: head\.extra"
    ):
        net.load_state_dict(state)
    state = net.state_dict()
    state["head.weight"] = np.zeros((3, 5))
    with pytest.raises(StateDictError, match=r"'head\.weight' has shape \(3, 5\).*\(3, 72\)"):
        net.load_state_dict(state)


def test_load_state_dict_non_strict_ignores_missing_keys():
    net = Net()
    net.load_state_dict({"head.bias": np.ones(3)}, strict=False)
    np.testing.assert_array_equal(net.head.bias.data, np.ones(3, dtype=np.float32))


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_reassigning_a_parameter_slot():
    layer = nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match="is a parameter"):
        layer.bias = np.zeros(2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer(np.ones((1, 2), dtype=np.float32)).shape == (1, 2)


def test_deleting_an_attribute_unregisters_it():
    net = Net()
    del net.head
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.conv.weight",
        "features.0.conv.bias",
    ]


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_repr_nests_like_pytorch():
    assert repr(Net()) == (
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): Block(\n"
        "      (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0), bias=True)\n"
        "      (act): ReLU()\n"
        "    )\n"
        "    (1): Flatten(start_axis=1)\n"
        "  )\n"
        "  (head): Linear(in_features=72, out_features=3, bias=True)\n"
        ")"
    )


def test_sequential_indexing_and_append():
    model = nn.Sequential(nn.ReLU())
    model.append(nn.Flatten())
    assert (
        len(model) == 2 and isinstance(model[1], nn.Flatten) and isinstance(model[-1], nn.Flatten)
    )
    assert [type(m).__name__ for m in model] == ["ReLU", "Flatten"]
    assert nn.Sequential().output_shape((3,)) == (3,)


def test_parameters_follow_changes_anywhere_in_the_tree():
    net = Net()
    assert len(net.parameters()) == 4
    net.features[0].conv.bias = None  # a change deep inside the tree
    assert [p.name for p in net.parameters()] == [
        "features.0.conv.weight",
        "head.weight",
        "head.bias",
    ]
    net.features[0].extra = nn.Linear(1, 1)
    assert len(net.parameters()) == 5
    del net.features[0].extra
    assert len(net.parameters()) == 3
    listed = net.parameters()
    listed.clear()  # a copy: the caller may change it
    assert len(net.parameters()) == 3
