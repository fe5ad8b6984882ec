#!/usr/bin/env bash
# Installs Debian's CUDA toolkit (nvidia-cuda-toolkit 11.8 from non-free,
# ~1.6 GB download) so `make cuda` can compile libggml-cuda.so on a machine
# without an NVIDIA GPU. Debian's main archive is all a default install names:
# this adds a sources file for the contrib and non-free components of the
# same archive, once.
set -euo pipefail
command -v nvcc >/dev/null && exit 0
[ "$(id -u)" = 0 ] || { echo "cuda-deps: run as root, or install nvidia-cuda-toolkit yourself" >&2; exit 1; }

list=/etc/apt/sources.list.d/rerank-api-nonfree.sources
if [ ! -f "$list" ]; then
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
  cat >"$list" <<SRC
Types: deb
URIs: ${uri:-http://deb.debian.org/debian}
Suites: $suite
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit g++-11
nvcc --version | tail -2
