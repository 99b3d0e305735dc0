"""Sphinx configuration of the documentation site (make docs: build/docs, warnings are errors)."""
import os

# autodoc imports petastorm.tf_utils: TensorFlow's start-up log lines are not warnings of the build.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

project = 'Petastorm with a C++ core'
author = 'petastorm contributors'
extensions = ['myst_parser', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon']
source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}
root_doc = 'index'
exclude_patterns = ['benchmarks/*.json']
myst_heading_anchors = 3
# The API reference documents the installed package (make build installs it into .venv).
autodoc_default_options = {'members': True, 'undoc-members': False, 'show-inheritance': True}
autodoc_member_order = 'bysource'
html_theme = 'alabaster'
html_static_path = []
