#!/usr/bin/env bash
# Builds oneTBB instrumented for ThreadSanitizer: tools/tbb-tsan.sh [PREFIX] (default
# build/tbb-tsan). Prints the TBB_DIR to configure with.
#
# Why: Debian's libtbb is not instrumented, so TSan cannot see the synchronisation inside the
# task scheduler and reports every message handed between flow-graph nodes as a race. Built
# from Debian's own source package (the same 2021.8 as libtbb-dev) with TBB_SANITIZE=thread,
# TSan sees it all and a report means a real race in our code.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$(realpath -m "${1:-build/tbb-tsan}")"
if [ -f "$prefix/install/lib/cmake/TBB/TBBConfig.cmake" ]; then
  echo "$prefix/install/lib/cmake/TBB"
  exit 0
fi
mkdir -p "$prefix/apt/lists/partial"
cat > "$prefix/apt/debian.sources" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(-o "Dir::Etc::sourcelist=$prefix/apt/debian.sources" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$prefix/apt/lists" -o Debug::NoLocking=1 -q)
apt-get "${apt_opts[@]}" update >&2
version="$(dpkg-query -W -f='${Version}' libtbb-dev)"
(cd "$prefix" && apt-get "${apt_opts[@]}" --download-only source "onetbb=$version" >&2)
rm -rf "$prefix/src"
mkdir -p "$prefix/src"
tar -xf "$prefix"/onetbb_*.orig.tar.* -C "$prefix/src" --strip-components=1
cmake -S "$prefix/src" -B "$prefix/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DTBB_SANITIZE=thread \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_INSTALL_PREFIX="$prefix/install" >&2
cmake --build "$prefix/build" -j "${FRAMESCRIBE_JOBS:-$(nproc)}" >&2
cmake --install "$prefix/build" >&2
echo "$prefix/install/lib/cmake/TBB"
