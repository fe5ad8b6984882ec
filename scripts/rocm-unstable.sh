#!/usr/bin/env bash
# Compiles libggml-hip.so (AMD ROCm) on a Debian bookworm machine, whose own
# archive has no ROCm new enough for ggml-hip (it needs HIP ≥ 6.1 with hipBLAS
# and rocBLAS): inside a debootstrapped Debian unstable root, which has HIP 6.4,
# hipBLAS and rocBLAS 6.4 and clang 21. Runs as root (debootstrap, chroot,
# bind mounts). The root is made once under .build/rocm-root (~4 GB).
#
#   scripts/rocm-unstable.sh OUTDIR     # libggml-hip.so + hipBLAS/rocBLAS in OUTDIR
#                                       # (a folder inside the repository, e.g. dist/lib)
#
# Knobs: AMDGPU_TARGETS (default gfx1100, one RDNA3 target: the whole list
# takes hours on a small machine), JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: rocm-unstable.sh OUTDIR}
root=$PWD/.build/rocm-root
./scripts/apt-install.sh debootstrap
# The compile inside has no Go: give it the ggml source copy now.
./scripts/build-ggml.sh source

if [ ! -f "$root/.ready" ]; then
  echo "rocm-unstable: debootstrap Debian unstable into $root"
  rm -rf "$root"
  debootstrap --variant=minbase sid "$root" http://deb.debian.org/debian >/dev/null
  # A mirror that is not refreshed daily serves an unstable Release file past
  # its Valid-Until date; the packages are still signed.
  chroot "$root" apt-get -o Acquire::Check-Valid-Until=false update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false install -y -qq \
    --no-install-recommends hipcc libamdhip64-dev libhipblas-dev librocblas-dev cmake make g++ patchelf
  touch "$root/.ready"
fi

mkdir -p "$root/src" "$out"
mount --bind "$PWD" "$root/src"
trap 'umount "$root/src"' EXIT
rel_out=$(realpath --relative-to="$PWD" "$out")
case "$rel_out" in ../*|/*) echo "rocm-unstable: OUTDIR must be inside the repository" >&2; exit 2 ;; esac
# HIPCXX: CMake compiles HIP with clang itself (hipcc only wraps it).
chroot "$root" env AMDGPU_TARGETS="${AMDGPU_TARGETS:-gfx1100}" JOBS="${JOBS:-$(nproc)}" \
  HIPCXX="$(chroot "$root" sh -c 'ls /usr/lib/llvm-*/bin/clang++ | sort -V | tail -1')" \
  bash -c "cd /src && ./scripts/build-ggml.sh rocm '/src/$rel_out'"
