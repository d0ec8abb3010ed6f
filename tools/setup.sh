#!/usr/bin/env bash
# Installs every Debian package framescribe needs to build, test and fuzz. Idempotent and
# non-interactive: packages already installed are skipped, and nothing runs apt-get when all are
# there. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git   # toolchain
  nlohmann-json3-dev                                        # JSON (safetensors headers, configs)
  libcli11-dev                                              # command line
  libpcre2-dev                                              # tokenizer regex
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg   # decoding; ffmpeg CLI makes test clips
  libcurl4-openssl-dev libcpp-httplib-dev                   # image URLs; a local HTTP server in tests
  libtbb-dev                                                # the pipeline's flow graph
  libyaml-cpp-dev libsqlite3-dev                            # batch job files, state and search index
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev      # live sources (RTSP and other URIs)
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav              # depayloaders, parsers, decoders, x264enc
  libgstrtspserver-1.0-dev                                  # an in-process RTSP server in tests
  libgtest-dev libgmock-dev                                 # tests
  chromium                                                  # headless browser for the HTML report test
  openssl                                                   # a self-signed certificate in the https-input test
  clang libclang-rt-dev                                     # libFuzzer, sanitizer runtimes
  slurm-wlm munge                                           # a one-node Slurm cluster in tests (label slurm)
  python3-venv                                              # the k8s schema check's venv (label slurm)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
