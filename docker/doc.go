// Package docker holds no code: this directory keeps the image and compose
// files (Dockerfile, Dockerfile.amd, Dockerfile.flexible and the compose
// files for NVIDIA, AMD and CPU hosts; the repository root has the NVIDIA
// pair too), and its test parses each of them the way Docker and Compose do
// and checks them against the repository and the server's real flags.
package docker
