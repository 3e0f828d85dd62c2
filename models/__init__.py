"""The model specs shipped with minigrad, found by name: ``minigrad train --model seed_cnn``.

This folder is installed as the package ``minigrad.models`` (see ``pyproject.toml``), so the
wheel and an editable install read the very files in it; :func:`minigrad.nn.bundled_specs`
lists them.
"""
