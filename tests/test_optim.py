"""SGD and Adam, each checked step by step against its formula (PyTorch's update rules)."""

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.errors import CheckpointError
from minigrad.optim import SGD, Adam

STEPS = 4


def quadratic_problem(dtype=np.float64):
    """A parameter and a loss whose gradient changes from step to step."""
    rng = np.random.default_rng(0)
    w = minigrad.Tensor(rng.standard_normal((3, 2)).astype(dtype), requires_grad=True)
    target = rng.standard_normal((3, 2)).astype(dtype)

    def loss():  # L = sum (w - target)^4: the gradient changes from step to step
        d = w - target
        return minigrad.sum(d * d * d * d)

    return w, target, loss


def run(opt, w, loss, steps=STEPS):
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        history.append(w.grad.copy())
        opt.step()
    return history


def test_plain_sgd_is_the_design_document_step():
    w, _, loss = quadratic_problem()
    opt = SGD([w], lr=0.1)
    before = w.data.copy()
    array = w.data
    opt.zero_grad()
    loss().backward()
    grad = w.grad.copy()
    opt.step()
    np.testing.assert_array_equal(w.data, before - 0.1 * grad)  # W <- W - eta dL/dW
    assert w.data is array  # in place


@pytest.mark.parametrize(
    "momentum, weight_decay, nesterov",
    [
        (0.0, 0.0, False),
        (0.9, 0.0, False),
        (0.9, 0.01, False),
        (0.8, 0.05, True),
        (0.0, 0.1, False),
    ],
)
def test_sgd_matches_its_formula(momentum, weight_decay, nesterov):
    w, _, loss = quadratic_problem()
    lr = 0.05
    ref = w.data.copy()
    buf = None
    opt = SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    for _ in range(STEPS):
        opt.zero_grad()
        loss().backward()
        g = w.grad + weight_decay * ref
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        ref = ref - lr * g
        opt.step()
        np.testing.assert_allclose(w.data, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_its_formula(weight_decay):
    w, _, loss = quadratic_problem()
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    ref = w.data.copy()
    m = np.zeros_like(ref)
    v = np.zeros_like(ref)
    opt = Adam([w], lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    for t in range(1, STEPS + 1):
        opt.zero_grad()
        loss().backward()
        g = w.grad + weight_decay * ref
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        ref = ref - lr * m_hat / (np.sqrt(v_hat) + eps)
        opt.step()
        np.testing.assert_allclose(w.data, ref, rtol=1e-10, atol=1e-12)
    assert opt.state[0]["step"] == STEPS


def test_float32_parameters_stay_float32():
    model = nn.Linear(3, 2, rng=0)
    for opt in (SGD(model.parameters(), lr=0.1, momentum=0.9), Adam(model.parameters())):
        minigrad.sum(model(np.ones((2, 3), dtype=np.float32))).backward()
        opt.step()
        assert all(p.dtype == np.float32 for p in model.parameters())
        model.zero_grad()


def test_parameters_without_gradient_are_skipped():
    a = minigrad.Tensor(np.ones(2), requires_grad=True)
    b = minigrad.Tensor(np.ones(2), requires_grad=True)
    (a * 3.0).sum().backward()
    for opt in (SGD([a, b], lr=1.0, momentum=0.5), Adam([a, b], lr=1.0)):
        opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert not np.array_equal(a.data, np.ones(2))


def test_zero_grad_sets_none():
    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    w.sum().backward()
    opt = SGD([w], lr=0.1)
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
    ],
)
def test_state_dict_resumes_exactly(make):
    w1, _, loss1 = quadratic_problem()
    opt1 = make([w1])
    run(opt1, w1, loss1, 2)
    state = opt1.state_dict()
    saved = w1.data.copy()
    run(opt1, w1, loss1, 2)

    w2, _, loss2 = quadratic_problem()
    w2.data[...] = saved
    opt2 = make([w2])
    opt2.load_state_dict(state)
    run(opt2, w2, loss2, 2)
    np.testing.assert_array_equal(w1.data, w2.data)


def test_state_dict_is_a_copy_and_names_its_type():
    w, _, loss = quadratic_problem()
    opt = SGD([w], lr=0.1, momentum=0.9)
    run(opt, w, loss, 1)
    state = opt.state_dict()
    assert state["type"] == "SGD"
    assert state["hyper"] == {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}
    state["state"][0]["momentum_buffer"] += 1
    assert not np.array_equal(state["state"][0]["momentum_buffer"], opt.state[0]["momentum_buffer"])


def test_load_state_dict_rejects_a_mismatch():
    w, _, _ = quadratic_problem()
    opt = SGD([w], lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match="from Adam"):
        opt.load_state_dict({"type": "Adam", "hyper": {}, "state": [{}]})
    with pytest.raises(CheckpointError, match="2 parameters"):
        opt.load_state_dict({"type": "SGD", "hyper": {}, "state": [{}, {}]})
    with pytest.raises(CheckpointError, match=r"has shape \(2,\)"):
        opt.load_state_dict(
            {"type": "SGD", "hyper": {}, "state": [{"momentum_buffer": np.zeros(2)}]}
        )


def test_learning_rate_can_be_changed():
    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    opt = SGD([w], lr=0.1)
    opt.lr = 0.5
    assert opt.lr == 0.5 and opt.defaults["lr"] == 0.5
    assert opt.momentum == 0.0
    assert "SGD(1 parameters, lr=0.5" in repr(opt)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: SGD(ps, lr=-1), "lr must be a number >= 0"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), "betas must be in"),
        (lambda ps: SGD([], lr=0.1), "empty parameter list"),
        (lambda ps: SGD([minigrad.Tensor(np.ones(2))], lr=0.1), "requires_grad=True"),
    ],
)
def test_bad_arguments(make, message):
    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises((ValueError, TypeError), match=message):
        make([w])
