#!/usr/bin/env bash
# Creates (or reuses) a test's Python environment from pinned requirements:
#   tools/python-venv.sh PYTHON VENV REQUIREMENTS [NAME]
# The environment lives under the build tree and is rebuilt only when REQUIREMENTS changes (its
# SHA-256 is the stamp), so a second run costs nothing and a fresh clone gets it from the package
# registry once. Wheels only (no compiler). Run by ctest as the setup fixture of the tests that
# need it: crosscheck (mistral-common), serve's real clients (openai, ollama, schemathesis) and
# the serve page test (Playwright). NAME only labels the messages.
set -euo pipefail
python="$1" venv="$2" reqs="$3" name="${4:-python}"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
stamp="$venv/.framescribe-requirements.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "$name venv: up to date ($venv)"
  exit 0
fi
if ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "$name venv: $python must be Python >= 3.11 with the venv and ensurepip modules" \
       "(Debian: apt-get install python3-venv)" >&2
  exit 1
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: -r "$reqs"
echo "$want" > "$stamp"
echo "$name venv: installed $(grep -c '==' "$reqs") pinned packages into $venv"
