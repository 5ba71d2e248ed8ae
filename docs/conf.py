"""Sphinx configuration: the Markdown guide (MyST) and an API reference from the docstrings.

Build with ``make docs`` (or ``python -m sphinx -W -b html docs docs/_build/html``);
warnings are errors, in CI too.
"""

project = "sklearn_keras_hpo"
author = "sklearn_keras_hpo developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
html_theme = "alabaster"
myst_heading_anchors = 3
