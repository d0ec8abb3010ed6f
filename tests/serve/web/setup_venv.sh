#!/usr/bin/env bash
# Creates (or reuses) the page test's Python environment: setup_venv.sh PYTHON VENV REQUIREMENTS
# (as tests/crosscheck/setup_venv.sh: under the build tree, rebuilt only when REQUIREMENTS
# changes, its SHA-256 the stamp). Run by ctest as the serve_web_venv fixture.
set -euo pipefail
python="$1" venv="$2" reqs="$3"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
stamp="$venv/.framescribe-requirements.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "serve web venv: up to date ($venv)"
  exit 0
fi
if ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "serve web venv: $python must be Python >= 3.11 with venv and ensurepip" \
       "(Debian: apt-get install python3-venv)" >&2
  exit 1
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: -r "$reqs"
echo "$want" > "$stamp"
echo "serve web venv: installed $(grep -c '==' "$reqs") pinned packages into $venv"
