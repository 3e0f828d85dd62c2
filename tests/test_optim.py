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


def adam_state():
    w, _, loss = quadratic_problem()
    opt = Adam([w], lr=0.1)
    run(opt, w, loss, 2)
    return w, opt, loss


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hyper": {"lr": -1}}, "hyperparameter lr must be a number >= 0, got -1"),
        ({"hyper": {"lr": float("nan")}}, "hyperparameter lr must be a number >= 0, got nan"),
        ({"hyper": {"betas": (0.9, "x")}}, r"hyperparameter betas must be in \[0, 1\)"),
        ({"hyper": {"eps": True}}, "hyperparameter eps must be a number >= 0, got True"),
        ({"hyper": {"momentum": 0.9}}, "'momentum' is not a hyperparameter of Adam"),
        ({"state": [{"step": "one"}]}, r"lacks 'exp_avg', 'exp_avg_sq'"),
        ({"step": "one"}, "state 'step' of parameter 0 must be an int, got 'one'"),
        ({"step": 0}, "state 'step' of parameter 0 must be an int >= 1, got 0"),
        ({"exp_avg": np.zeros(3)}, r"'exp_avg' of parameter 0.* has shape \(3,\)"),
        ({"exp_avg": [[0.0] * 2] * 3}, r"'exp_avg' of parameter 0.* has shape \[\["),
        (
            {"exp_avg_sq": np.full((3, 2), -1.0)},
            r"finite numbers and >= 0 .*it holds -1.0 at \[0, 0\]",
        ),
        ({"exp_avg": np.full((3, 2), np.inf)}, "must hold finite numbers"),
        ({"extra": 1}, "holds the unknown entry 'extra'"),
        ({"state": "none"}, "'state' must be a list, got 'none'"),
        ({"state": [3]}, "state of parameter 0.* must be a dict, got 3"),
    ],
    ids=[
        "negative lr",
        "nan lr",
        "string beta",
        "bool eps",
        "SGD's setting",
        "step only",
        "step a string",
        "step 0",
        "wrong shape",
        "a list",
        "negative second moment",
        "inf average",
        "unknown entry",
        "state a string",
        "state of numbers",
    ],
)
def test_load_state_dict_checks_everything_before_it_changes_anything(change, message):
    w, opt, loss = adam_state()
    state = opt.state_dict()
    for key in ("hyper", "state"):
        if key in change:
            state[key] = (
                {**state[key], **change[key]} if isinstance(change[key], dict) else change[key]
            )
    for key, value in change.items():
        if key not in ("hyper", "state"):
            state["state"][0][key] = value
    before = opt.state_dict()
    with pytest.raises(CheckpointError, match="Adam.load_state_dict: .*" + message):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert after["hyper"] == before["hyper"]
    for key, value in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)
    run(opt, w, loss, 1)  # still works


def test_a_loaded_state_resumes_exactly():
    w, opt, loss = adam_state()
    w2 = minigrad.Tensor(w.data.copy(), requires_grad=True)
    opt2 = Adam([w2], lr=0.5)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.lr == 0.1 and opt2.state[0]["step"] == 2
    run(opt, w, loss, 1)

    def loss2():
        d = w2 - quadratic_problem()[1]
        return minigrad.sum(d * d * d * d)

    run(opt2, w2, loss2, 1)
    np.testing.assert_array_equal(w.data, w2.data)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: SGD(ps, lr=float("inf")), "SGD: lr must be a finite number, got inf"),
        (
            lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov="yes"),
            "nesterov must be a bool",
        ),
        (
            lambda ps: Adam(ps, betas="ab"),
            r"Adam: betas must be a pair of numbers in \[0, 1\), got 'ab'",
        ),
        (lambda ps: Adam(ps, eps=10**400), "Adam: eps must be a finite number, got"),
    ],
    ids=["inf lr", "string nesterov", "string betas", "huge eps"],
)
def test_settings_are_checked_for_type_and_range(make, message):
    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(minigrad.ArgumentError, match=message):
        make([w])


def test_an_optimiser_that_declares_no_settings_keeps_them_as_given():
    class Plain(minigrad.optim.Optimizer):
        def step(self):
            for p in self.params:
                if p.grad is not None:
                    p.data -= self.defaults["lr"] * p.grad

    w = minigrad.Tensor(np.ones(2), requires_grad=True)
    opt = Plain([w], lr=0.5, schedule="cosine")
    assert opt.defaults == {"lr": 0.5, "schedule": "cosine"}
    opt.load_state_dict({"type": "Plain", "hyper": {"lr": 0.25}, "state": [{}]})
    assert opt.lr == 0.25
