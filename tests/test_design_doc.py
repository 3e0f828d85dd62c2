"""The design document (cnn-backprop.md), formula by formula.

Each test computes a formula by hand, in the document's own layout (an image ``X`` of shape
(H, W), conv filters ``W^c`` of shape (k, k, F), feature maps of shape (H-k+1, W-k+1, F)),
and compares it with what minigrad's ops and autodiff give in PyTorch's NCHW layout.
"""

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from minigrad.optim import SGD

K, F, C = 3, 8, 10  # kernel size, filters, classes: the document's CNN on 8x8 digits
H = W = 8


class HandCNN:
    """The document's network in its own notation, every step written out."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((H, W))
        self.Wc = rng.standard_normal((K, K, F)) * 0.5
        self.bc = rng.standard_normal(F) * 0.1
        self.Wd = rng.standard_normal(((H - K + 1) * (W - K + 1) * F, C)) * 0.1
        self.bd = rng.standard_normal(C) * 0.1
        self.label = 3
        self.y = np.eye(C)[self.label]

    def forward(self):
        X, Wc, bc = self.X, self.Wc, self.bc
        Ho, Wo = H - K + 1, W - K + 1
        # Z^c[p, q, k] = sum_{i,j} X[p+i, q+j] W^c[i, j, k] + b^c[k]
        self.Zc = np.zeros((Ho, Wo, F))
        for p in range(Ho):
            for q in range(Wo):
                for k in range(F):
                    self.Zc[p, q, k] = np.sum(X[p : p + K, q : q + K] * Wc[:, :, k]) + bc[k]
        self.Ac = np.maximum(0, self.Zc)  # A^c = max(0, Z^c)
        self.Af = self.Ac.reshape(-1)  # A^f = flatten(A^c)
        self.Zd = self.Af @ self.Wd + self.bd  # Z^d = A^f . W^d + b^d
        e = np.exp(self.Zd - self.Zd.max())
        self.yhat = e / e.sum()  # yhat_c = e^{Z^d_c} / sum_j e^{Z^d_j}
        self.L = -np.sum(self.y * np.log(self.yhat))  # L = -sum_c y_c log(yhat_c)

    def backward(self):
        self.dZd = self.yhat - self.y  # dL/dZ^d = yhat - y
        self.dWd = np.outer(self.Af, self.dZd)  # dL/dW^d = (A^f)^T . dL/dZ^d
        self.dbd = self.dZd  # dL/db^d = dL/dZ^d
        self.dAc = (self.dZd @ self.Wd.T).reshape(self.Ac.shape)  # reshape to A^c's shape
        self.dZc = self.dAc * (self.Zc > 0)  # dL/dZ^c = dL/dA^c . 1(Z^c > 0)
        Ho, Wo = self.Zc.shape[:2]
        self.dWc = np.zeros_like(self.Wc)
        for i in range(K):
            for j in range(K):
                for k in range(F):
                    # dL/dW^c[i, j, k] = sum_{p,q} dL/dZ^c[p, q, k] X[p+i, q+j]
                    self.dWc[i, j, k] = np.sum(self.dZc[:, :, k] * self.X[i : i + Ho, j : j + Wo])
        self.dbc = self.dZc.sum(axis=(0, 1))  # dL/db^c[k] = sum_{p,q} dL/dZ^c[p, q, k]


class MinigradCNN:
    """The same network from minigrad's ops, with the same numbers in NCHW layout."""

    def __init__(self, hand):
        ho, wo = H - K + 1, W - K + 1
        self.x = Tensor(hand.X.reshape(1, 1, H, W))
        self.w = Tensor(hand.Wc.transpose(2, 0, 1)[:, None], requires_grad=True)  # (F, 1, k, k)
        self.b = Tensor(hand.bc, requires_grad=True)
        # Our flatten runs over (F, Ho, Wo); the document's over (Ho, Wo, F): permute the rows
        # of W^d to match, and store it (classes, inputs) as Linear does.
        wd_ours = hand.Wd.reshape(ho, wo, F, C).transpose(2, 0, 1, 3).reshape(-1, C)
        self.wd = Tensor(wd_ours.T.copy(), requires_grad=True)
        self.bd = Tensor(hand.bd, requires_grad=True)
        self.target = np.array([hand.label])

    def forward(self):
        self.zc = minigrad.conv2d(self.x, self.w, self.b).retain_grad()
        self.ac = minigrad.relu(self.zc).retain_grad()
        self.af = minigrad.flatten(self.ac).retain_grad()
        self.zd = minigrad.linear(self.af, self.wd, self.bd).retain_grad()
        self.loss = minigrad.cross_entropy(self.zd, self.target)

    def to_doc_layout(self, nchw):
        """(1, F, Ho, Wo) -> the document's (Ho, Wo, F)."""
        return nchw[0].transpose(1, 2, 0)


@pytest.fixture
def nets():
    hand = HandCNN()
    ours = MinigradCNN(hand)
    hand.forward()
    hand.backward()
    ours.forward()
    ours.loss.backward()
    return hand, ours


def test_forward_convolution(nets):
    hand, ours = nets
    np.testing.assert_allclose(ours.to_doc_layout(ours.zc.data), hand.Zc, rtol=1e-12)
    assert hand.Zc.shape == (H - K + 1, W - K + 1, F)  # (H - k + 1, W - k + 1, F)


def test_forward_relu_flatten_dense(nets):
    hand, ours = nets
    np.testing.assert_allclose(ours.to_doc_layout(ours.ac.data), hand.Ac, rtol=1e-12)
    np.testing.assert_allclose(ours.zd.data[0], hand.Zd, rtol=1e-12)


def test_softmax_and_cross_entropy_loss(nets):
    hand, ours = nets
    np.testing.assert_allclose(minigrad.softmax(ours.zd).data[0], hand.yhat, rtol=1e-12)
    np.testing.assert_allclose(ours.loss.item(), hand.L, rtol=1e-12)


def test_gradient_of_softmax_cross_entropy_is_yhat_minus_y(nets):
    hand, ours = nets
    np.testing.assert_allclose(ours.zd.grad[0], hand.dZd, rtol=1e-12, atol=1e-15)


def test_dense_layer_gradients(nets):
    hand, ours = nets
    # dL/dW^d = (A^f)^T dL/dZ^d; ours is stored transposed and in our flatten order.
    ho, wo = H - K + 1, W - K + 1
    dwd_doc_order = ours.wd.grad.T.reshape(F, ho, wo, C).transpose(1, 2, 0, 3).reshape(-1, C)
    np.testing.assert_allclose(dwd_doc_order, hand.dWd, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.bd.grad, hand.dbd, rtol=1e-12, atol=1e-15)


def test_upstream_gradient_reshaped_to_the_feature_maps(nets):
    hand, ours = nets
    np.testing.assert_allclose(ours.to_doc_layout(ours.ac.grad), hand.dAc, rtol=1e-12, atol=1e-15)


def test_relu_gradient_mask(nets):
    hand, ours = nets
    np.testing.assert_allclose(ours.to_doc_layout(ours.zc.grad), hand.dZc, rtol=1e-12, atol=1e-15)
    assert np.any(hand.Zc <= 0) and np.any(hand.Zc > 0)  # the mask really masks something


def test_convolution_filter_and_bias_gradients(nets):
    hand, ours = nets
    np.testing.assert_allclose(
        ours.w.grad[:, 0].transpose(1, 2, 0), hand.dWc, rtol=1e-10, atol=1e-14
    )
    np.testing.assert_allclose(ours.b.grad, hand.dbc, rtol=1e-10, atol=1e-14)


def test_one_sgd_step(nets):
    hand, ours = nets
    eta = 0.05
    params = [ours.w, ours.b, ours.wd, ours.bd]
    before = [p.data.copy() for p in params]
    grads = [p.grad.copy() for p in params]
    SGD(params, lr=eta).step()
    for p, w0, g in zip(params, before, grads, strict=True):
        np.testing.assert_allclose(p.data, w0 - eta * g, rtol=1e-15)  # W <- W - eta dL/dW
    np.testing.assert_allclose(ours.b.data, hand.bc - eta * hand.dbc, rtol=1e-12)


def test_sgd_steps_lower_the_loss_on_one_sample(nets):
    _, ours = nets
    opt = SGD([ours.w, ours.b, ours.wd, ours.bd], lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        ours.forward()
        losses.append(ours.loss.item())
        ours.loss.backward()
        opt.step()
    assert losses[-1] < losses[0]


def test_worked_example_3x3():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    # (1*1 + 2*0 + 4*0 + 5*(-1)) = 1 - 5 = -4
    assert 1 * 1 + 2 * 0 + 4 * 0 + 5 * (-1) == -4
    w = Tensor(kernel.reshape(1, 1, 2, 2), requires_grad=True)
    z = minigrad.conv2d(x.reshape(1, 1, 3, 3), w)
    assert z.data[0, 0, 0, 0] == -4.0
    np.testing.assert_array_equal(z.data, np.full((1, 1, 2, 2), -4.0))  # every window: a - e
    a = minigrad.relu(z)
    assert a.data[0, 0, 0, 0] == 0.0  # after ReLU: max(0, -4) = 0
    # Flatten -> dense -> softmax -> loss, then backpropagate.
    wd = Tensor(np.arange(8.0).reshape(2, 4) / 10, requires_grad=True)
    bd = Tensor(np.array([0.1, -0.1]), requires_grad=True)
    loss = minigrad.cross_entropy(minigrad.linear(minigrad.flatten(a), wd, bd), np.array([0]))
    loss.backward()
    yhat = np.exp([0.1, -0.1]) / np.exp([0.1, -0.1]).sum()  # A^f = 0, so Z^d = b^d
    np.testing.assert_allclose(loss.item(), -np.log(yhat[0]), rtol=1e-12)
    np.testing.assert_allclose(bd.grad, yhat - [1.0, 0.0], rtol=1e-12)
    # Every ReLU input is negative: the mask is all zeros and the kernel learns nothing
    # from this image (a "dead" filter), exactly as the formulas say.
    np.testing.assert_array_equal(w.grad, np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(wd.grad, np.zeros((2, 4)))
