// Package kubernetes holds no code: this directory keeps the Kubernetes
// manifests (a kustomize base, the cpu, nvidia and amd overlays, and
// prometheus-adapter's rule), and its tests render each overlay with the
// subset of kustomize the files use, decode every object strictly into the
// Kubernetes API types, and check them against the server: its routes,
// port and variables, the images the compose files build, and the metric
// its GET /metrics serves.
package kubernetes
