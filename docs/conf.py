"""Sphinx configuration of the hyperspy-cs documentation.

Build with ``docs/build.sh`` (warnings are errors). The example gallery is
executed, so that its pages show the examples' output and figures, unless the
environment variable ``HYPERSPY_CS_DOCS_RUN_GALLERY`` is ``0``: running the
examples takes minutes, rendering their code seconds (``tests/test_docs.py``
builds with ``0`` and runs each example on its own).
"""

import argparse
import os
import pathlib

import hyperspy_cs
from hyperspy_cs.cli import build_parser

HERE = pathlib.Path(__file__).resolve().parent

project = "hyperspy-cs"
author = "hyperspy-cs developers"
copyright = "hyperspy-cs developers"
release = hyperspy_cs.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]

autosummary_generate = True
autodoc_typehints = "none"
# Signals inherit hundreds of HyperSpy methods; list only what hyperspy_cs adds.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"hyperspy-cs {release}"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

RUN_GALLERY = os.environ.get("HYPERSPY_CS_DOCS_RUN_GALLERY", "1").lower() not in ("0", "false", "no")
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": RUN_GALLERY,
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
}


def _remove_stale_stubs():
    """Delete the autosummary pages of earlier builds; this build writes them again.

    Autosummary never removes the page of a name that left the API, and a page
    of a module that no longer exists fails the build (warnings are errors).
    """
    for stub in (HERE / "generated").glob("hyperspy_cs.*.rst"):
        stub.unlink()


def _write_cli_help():
    """``generated/cli_<command>.txt``: the --help of each command, for docs/cli.rst."""
    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal; fix it for the page
    parser = build_parser()
    folder = HERE / "generated"
    folder.mkdir(exist_ok=True)
    (folder / "cli_main.txt").write_text(parser.format_help())
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        (folder / f"cli_{name}.txt").write_text(command.format_help())


_remove_stale_stubs()
_write_cli_help()
