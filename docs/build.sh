#!/usr/bin/env bash
# Build the HTML documentation into docs/_build/html, with warnings as errors.
#
#   docs/build.sh                                  # runs the examples for their figures (minutes)
#   HYPERSPY_CS_DOCS_RUN_GALLERY=0 docs/build.sh   # examples shown, not run (seconds)
#
# Needs the docs extra: python -m pip install -e ".[docs]"
set -euo pipefail
cd "$(dirname "$0")"
# The published pages show the examples' output and figures; say 0 for a quick
# check of the text (tests/test_docs.py does, and runs each example on its own).
export HYPERSPY_CS_DOCS_RUN_GALLERY="${HYPERSPY_CS_DOCS_RUN_GALLERY:-1}"
export MPLBACKEND=Agg
python -m sphinx -W --keep-going -b html . _build/html "$@"
