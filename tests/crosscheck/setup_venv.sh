#!/usr/bin/env bash
# Creates (or reuses) the cross-check's Python environment: setup_venv.sh PYTHON VENV REQUIREMENTS
# The environment lives under the build tree and is rebuilt only when REQUIREMENTS changes (its
# SHA-256 is the stamp), so a second run costs nothing and a fresh clone gets it from the package
# registry once. Run by ctest as the setup fixture of the crosscheck label.
set -euo pipefail
python="$1" venv="$2" reqs="$3"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
stamp="$venv/.framescribe-requirements.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "crosscheck venv: up to date ($venv)"
  exit 0
fi
if ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "crosscheck venv: $python must be Python >= 3.11 with the venv and ensurepip modules" \
       "(Debian: apt-get install python3-venv)" >&2
  exit 1
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: -r "$reqs"
echo "$want" > "$stamp"
echo "crosscheck venv: installed $(grep -c '==' "$reqs") pinned packages into $venv"
