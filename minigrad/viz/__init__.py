"""See the graph that backpropagation walks: a Graphviz picture, or a page to explore.

* :func:`to_dot` and :func:`render` (in :mod:`minigrad.viz.dot`) draw the recorded graph with
  Graphviz: ops, tensors, module clusters, gradient norms as colours.
* :func:`explore` (in :mod:`minigrad.viz.page`) writes one self-contained HTML page with that
  drawing: click a node to see its tensor, its gradient, pictures of both and the VJP that
  produced it, and step through the backward walk in the order the engine ran it.

>>> import minigrad, numpy as np
>>> from minigrad import viz
>>> w = minigrad.Tensor(np.ones((2, 3)), requires_grad=True, name="w")
>>> dot = viz.to_dot((w * w).sum())
>>> viz.explore((w * w).sum(), "graph.html")   # doctest: +SKIP
PosixPath('graph.html')
"""

# _NAN and _SCALE (the colours of the gradient scale) stay reachable as viz._NAN, viz._SCALE.
from minigrad.viz.dot import _NAN, _SCALE, FORMATS, render, retain_grads, to_dot  # noqa: F401
from minigrad.viz.page import explore

__all__ = ["FORMATS", "explore", "render", "retain_grads", "to_dot"]
