#!/usr/bin/env bash
# Sourced by the image scripts: a podman that works as root on a machine with
# no Docker daemon, no registry and no systemd (CI, these dev machines), and
# local base images in place of the registry ones every Dockerfile names in
# an ARG. Nothing outside .build/podman/ is changed: podman reads its settings
# from the files CONTAINERS_CONF and CONTAINERS_STORAGE_CONF point to.
#
# Exports PODMAN_BASE (a Debian bookworm image) and PODMAN_GOLANG (the same
# plus this machine's Go toolchain in /usr/local/go).

podman_dir=${PODMAN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build/podman}
mkdir -p "$podman_dir"

# runc and cgroupfs: crun cannot raise RLIMIT_NOFILE in this sandbox and the
# systemd cgroup manager needs a systemd; vfs storage needs no overlay mount.
cat >"$podman_dir/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$podman_dir/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$podman_dir/storage"
runroot = "$podman_dir/run"
EOF
export CONTAINERS_CONF=$podman_dir/containers.conf
export CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf

PODMAN_BASE=localhost/rerank-api-base:bookworm
PODMAN_GOLANG=localhost/rerank-api-golang:bookworm
export PODMAN_BASE PODMAN_GOLANG

# podman_bases makes the two base images once (debootstrap: about a minute).
podman_bases() {
  if podman image exists "$PODMAN_BASE" && podman image exists "$PODMAN_GOLANG"; then
    return 0
  fi
  local root=$podman_dir/rootfs go_root
  go_root=$(go env GOROOT)
  rm -rf "$root"
  echo "podman: debootstrap bookworm into $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$podman_dir/debootstrap.log" 2>&1 \
    || { tail -20 "$podman_dir/debootstrap.log" >&2; return 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import - "$PODMAN_BASE" >/dev/null
  mkdir -p "$root/usr/local"
  cp -a "$go_root" "$root/usr/local/go"
  tar -C "$root" -c . | podman import - "$PODMAN_GOLANG" >/dev/null
  rm -rf "$root"
  echo "podman: base images $PODMAN_BASE and $PODMAN_GOLANG ready"
}
