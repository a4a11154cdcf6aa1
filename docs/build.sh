#!/usr/bin/env bash
# Build the HTML documentation into docs/_build/html, with warnings as errors.
#
#   docs/build.sh                                  # examples shown, not run (fast)
#   HYPERSPY_CS_DOCS_RUN_GALLERY=1 docs/build.sh   # also run them for their figures
#
# Needs the docs extra: python -m pip install -e ".[docs]"
set -euo pipefail
cd "$(dirname "$0")"
python -m sphinx -W --keep-going -b html . _build/html "$@"
