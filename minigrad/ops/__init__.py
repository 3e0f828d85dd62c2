"""The primitive ops. Each family lives in its own file, forward and VJP side by side, and
names its ops once, in its ``__all__``; this package and ``minigrad`` export them from there.

| file | family |
|---|---|
| ``elementwise.py`` | arithmetic, ``abs``, ``exp``, ``log``, ``pow`` (with NumPy broadcasting) |
| ``reduce.py`` | sums, means and extrema over axes |
| ``shape.py`` | reshaping, transposing, indexing and joining |
| ``linalg.py`` | matrix products and the dense layer |
| ``activation.py`` | activations and (log-)softmax |
| ``conv.py`` | convolution and pooling over NCHW images |
| ``norm.py`` | batch normalisation |
| ``dropout.py`` | dropout |
| ``loss.py`` | the losses on class indices |
"""

from minigrad.ops import (
    activation,
    conv,
    elementwise,
    linalg,
    loss,
    norm,
    reduce,
    shape,
)
from minigrad.ops import dropout as dropout_ops  # the name ``dropout`` is the op's
from minigrad.ops.activation import *  # noqa: F403
from minigrad.ops.conv import *  # noqa: F403
from minigrad.ops.dropout import *  # noqa: F403
from minigrad.ops.elementwise import *  # noqa: F403
from minigrad.ops.linalg import *  # noqa: F403
from minigrad.ops.loss import *  # noqa: F403
from minigrad.ops.norm import *  # noqa: F403
from minigrad.ops.reduce import *  # noqa: F403
from minigrad.ops.shape import *  # noqa: F403

# The ``+=`` of each family's ``__all__`` is a form that static tools (the API reference's
# renderer, type checkers, editors) read without running the package.
__all__: list[str] = []
__all__ += activation.__all__
__all__ += conv.__all__
__all__ += dropout_ops.__all__
__all__ += elementwise.__all__
__all__ += linalg.__all__
__all__ += loss.__all__
__all__ += norm.__all__
__all__ += reduce.__all__
__all__ += shape.__all__
