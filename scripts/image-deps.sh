#!/usr/bin/env bash
# Installs what `make dist` and `make image-test` need beyond `make test`'s
# packages: cmake and patchelf for the ggml backend libraries, podman (with
# runc) and debootstrap to build and run images without a Docker daemon,
# podman-compose to bring the compose files up.
exec "$(dirname "$0")/apt-install.sh" cmake patchelf podman podman-compose runc slirp4netns uidmap debootstrap ca-certificates curl
