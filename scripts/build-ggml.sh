#!/usr/bin/env bash
# Builds ggml backend libraries from the llama.cpp copy that the Go module
# github.com/ollama/ollama vendors (the same source the binary compiles
# through cgo), with ollama's CMakeLists.txt and CMakePresets.json.
#
#   scripts/build-ggml.sh cpu  OUTDIR   # libggml-cpu-{x64,sse42,...,alderlake}.so
#   scripts/build-ggml.sh cuda OUTDIR   # libggml-cuda.so + cuBLAS/cudart beside it
#   scripts/build-ggml.sh rocm OUTDIR   # libggml-hip.so  + hipBLAS/rocBLAS beside it
#   scripts/build-ggml.sh source        # only copy the source into BUILD_DIR/src
#
# Knobs (environment): CUDA_OBJECTS (see below), CPU_VARIANTS (default: all of them; e.g. "x64 haswell"
# for a quicker build that still runs on any x86-64), CUDA_ARCHITECTURES (default: Turing..Hopper, "75;80;86;89;90"),
# AMDGPU_TARGETS (default: ollama's ROCm 6 list), BUILD_DIR (default .build/ggml),
# JOBS (default: nproc).
#
# One ggml per process: the binary already holds ggml-base (the backend
# registry, allocator, logging) and a baseline CPU backend. The libraries built
# here must use that ggml-base, not a second copy, so after linking we remove
# their DT_NEEDED entry on libggml-base.so: their ggml symbols then resolve
# against the binary, which `make dist` links with --export-dynamic. They are
# linked with -Bsymbolic so that a CPU variant calls its own kernels, not the
# binary's same-named baseline ones. A library that cannot find the binary's
# ggml fails to load with "undefined symbol: ggml_..." and the server logs it.
set -euo pipefail

kind=${1:?usage: build-ggml.sh cpu|cuda|rocm|source OUTDIR}
out=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/.build/ggml}
jobs=${JOBS:-$(nproc)}

for tool in cmake patchelf; do
  command -v "$tool" >/dev/null || { echo "build-ggml: needs $tool (apt-get install cmake patchelf)" >&2; exit 1; }
done

src=$build/src
# The module cache is read-only and cmake writes beside its sources: copy the
# three things ollama's CMakeLists.txt needs, once per module version. A
# machine without Go (a GPU machine handed a tree that `build-ggml.sh source`
# prepared elsewhere, as scripts/gpu-smoke.sh does) builds from that copy.
if command -v go >/dev/null; then
  mod=$(cd "$root" && go mod download github.com/ollama/ollama && go list -m -f '{{.Dir}}' github.com/ollama/ollama)
  if [ ! -f "$src/.from" ] || [ "$(cat "$src/.from")" != "$mod" ]; then
    rm -rf "$src"
    mkdir -p "$src/ml/backend/ggml"
    cp "$mod/CMakeLists.txt" "$mod/CMakePresets.json" "$src/"
    cp -r "$mod/ml/backend/ggml/ggml" "$src/ml/backend/ggml/"
    chmod -R u+w "$src"
    echo "$mod" > "$src/.from"
  fi
elif [ ! -f "$src/.from" ]; then
  echo "build-ggml: no Go to find llama.cpp's source, and no prepared copy in $src (run \`build-ggml.sh source\` where Go is)" >&2
  exit 1
fi
[ "$kind" = source ] && { echo "build-ggml: ggml source in $src"; exit 0; }
[ -n "$out" ] || { echo "usage: build-ggml.sh cpu|cuda|rocm OUTDIR" >&2; exit 2; }

common=(-DCMAKE_BUILD_TYPE=Release -DGGML_CCACHE=OFF "-DCMAKE_MODULE_LINKER_FLAGS=-Wl,-Bsymbolic")
case "$kind" in
  cpu)
    preset=CPU; component=CPU
    if [ -n "${CPU_VARIANTS:-}" ]; then
      targets=(); for v in $CPU_VARIANTS; do targets+=("ggml-cpu-$v"); done
    else
      targets=(ggml-cpu)
    fi
    extra=()
    ;;
  cuda)
    preset=CUDA; targets=(ggml-cuda); component=CUDA
    command -v nvcc >/dev/null || { echo "build-ggml: needs nvcc (CUDA toolkit)" >&2; exit 1; }
    # Host compiler: CUDA 11.8 accepts gcc ≤ 11; newer toolkits take the default.
    host=()
    if nvcc --version | grep -q 'release 11\.' && command -v g++-11 >/dev/null; then host=(-DCMAKE_CUDA_HOST_COMPILER=g++-11); fi
    extra=("-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES:-75;80;86;89;90}" "-DCMAKE_CUDA_FLAGS=-Wno-deprecated-gpu-targets -t 2" "${host[@]}")
    ;;
  rocm)
    preset=ROCm; targets=(ggml-hip); component=HIP
    extra=("-DAMDGPU_TARGETS=${AMDGPU_TARGETS:-gfx940;gfx941;gfx942;gfx1010;gfx1012;gfx1030;gfx1100;gfx1101;gfx1102;gfx1151;gfx1200;gfx1201;gfx908:xnack-;gfx90a:xnack+;gfx90a:xnack-}" -DCMAKE_HIP_PLATFORM=amd)
    ;;
  *) echo "build-ggml: unknown kind $kind (cpu, cuda or rocm)" >&2; exit 2 ;;
esac

bdir=$build/$kind
# ollama's CMakeLists.txt computes its install paths from the prefix at
# configure time, so `cmake --install --prefix` cannot move them: set it here.
common+=("-DCMAKE_INSTALL_PREFIX=$bdir/install")
# The CMakeLists adds every GPU backend whose compiler it finds: keep each
# build to its own kind, so `make dist` on a machine with nvcc stays CPU-only.
case "$kind" in
  cpu) common+=(-DCMAKE_CUDA_COMPILER=OFF -DCMAKE_HIP_COMPILER=OFF) ;;
  cuda) common+=(-DCMAKE_HIP_COMPILER=OFF) ;;
  rocm) common+=(-DCMAKE_CUDA_COMPILER=OFF) ;;
esac
echo "build-ggml: configuring $kind in $bdir"
cmake -S "$src" -B "$bdir" --preset "$preset" "${common[@]}" "${extra[@]}" >"$build/$kind-configure.log" 2>&1 \
  || { tail -30 "$build/$kind-configure.log" >&2; exit 1; }
# CUDA_OBJECTS="arange norm" compiles only those translation units of
# ggml-cuda, no library: CI's proof that the toolkit and this configuration
# compile, in seconds instead of a quarter of an hour per architecture.
if [ "$kind" = cuda ] && [ -n "${CUDA_OBJECTS:-}" ]; then
  objs=(); for o in $CUDA_OBJECTS; do objs+=("$o.cu.o"); done
  echo "build-ggml: compiling only ${objs[*]} of ggml-cuda (CUDA_OBJECTS)"
  make -C "$bdir/ml/backend/ggml/ggml/src/ggml-cuda" -j "$jobs" "${objs[@]}"
  exit 0
fi
echo "build-ggml: compiling ${targets[*]} with $jobs jobs (progress below)"
cmake --build "$bdir" --target "${targets[@]}" -j "$jobs"

# ollama's install components bring each backend's vendor runtime along
# (cuBLAS and cudart for CUDA; hipBLAS, rocBLAS and its kernels for ROCm).
# The CPU libraries are taken from the build tree, since CPU_VARIANTS may
# leave some of the install component unbuilt.
if [ "$kind" = cpu ]; then
  from=$bdir/lib/ollama
else
  rm -rf "$bdir/install"
  cmake --install "$bdir" --component "$component" >/dev/null
  from=$bdir/install/lib/ollama
fi
mkdir -p "$out"
n=0
while IFS= read -r f; do
  name=$(basename "$f")
  case "$name" in libggml-base*) continue ;; esac
  dest="$out/$name"
  rm -f "$dest"
  cp -P "$f" "$dest"
  [ -L "$dest" ] && continue
  case "$name" in
    libggml-*)
      for needed in $(patchelf --print-needed "$dest" | grep '^libggml-base' || true); do
        patchelf --remove-needed "$needed" "$dest"
      done
      # GPU libraries find their vendor runtime beside them.
      patchelf --set-rpath '$ORIGIN' "$dest"
      n=$((n + 1))
      ;;
  esac
done < <(find "$from" -maxdepth 2 \( -type f -o -type l \) -name '*.so*')
if [ -d "$from/rocblas" ]; then cp -r "$from/rocblas" "$out/"; fi
[ "$n" -gt 0 ] || { echo "build-ggml: cmake installed no ggml backend under $bdir/install" >&2; exit 1; }
echo "build-ggml: $n ggml backend librar$([ $n = 1 ] && echo y || echo ies) in $out"
