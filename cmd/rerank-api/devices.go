package main

import (
	"runtime"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/envconfig"
)

// initDevices loads the ggml backend libraries of --lib-dir, picks the
// devices models run on (--device) and logs what it found: every device,
// the CPU variant, and each library that did not load with the reason.
func initDevices(c *cli.Context, logger zerolog.Logger) (llama.Platform, error) {
	mode, err := llama.ParseDeviceMode(c.String(envconfig.Device.Flag))
	if err != nil {
		return llama.Platform{}, err
	}
	libDir := c.String(envconfig.LibDir.Flag)
	if libDir == "" {
		libDir = defaultLibDir()
	}
	llama.Init(libDir)
	p, err := llama.SelectDevices(libDir, mode)
	for _, d := range p.Devices {
		logger.Info().Str("device", d.Name).Str("kind", d.Kind).Str("description", d.Description).
			Uint64("memory_total", d.TotalBytes).Uint64("memory_free", d.FreeBytes).Msg("compute device")
	}
	for _, w := range p.Warnings {
		logger.Warn().Str("lib_dir", libDir).Msg(w + "; serving on the devices that did load")
	}
	if err != nil {
		return p, err
	}
	ev := logger.Info().Str("cpu_variant", p.CPUVariant).Strs("cpu_features", p.CPUFeatures).Str("device_mode", string(mode))
	if len(p.Offload) == 0 {
		ev.Msg("models run on the CPU")
	} else {
		ev.Strs("offload", p.Offload).Msg("models are offloaded to GPUs")
	}
	return p, nil
}

// deviceBudgets gives each GPU models are offloaded to its memory budget:
// backend's default share of what is free on it now, before any model is
// loaded (what other processes hold stays theirs).
func deviceBudgets(p llama.Platform) []backend.DeviceBudget {
	var budgets []backend.DeviceBudget
	for _, name := range p.Offload {
		for _, d := range p.Devices {
			if d.Name == name {
				budgets = append(budgets, backend.DeviceBudget{Name: name, BudgetBytes: backend.DefaultDeviceBudget(d.FreeBytes)})
			}
		}
	}
	return budgets
}

// infoOf is the part of GET /info that the platform decides.
func infoOf(p llama.Platform) api.Info {
	return api.Info{
		Version:        version,
		ComputeMode:    envconfig.ComputeMode(),
		GoVersion:      runtime.Version(),
		CPUVariant:     p.CPUVariant,
		CPUFeatures:    p.CPUFeatures,
		Devices:        apiDevices(p.Devices),
		OffloadDevices: p.Offload,
		Warnings:       p.Warnings,
	}
}

func apiDevices(devs []llama.Device) []api.Device {
	out := make([]api.Device, len(devs))
	for i, d := range devs {
		out[i] = api.Device{Name: d.Name, Description: d.Description, Kind: d.Kind, FreeBytes: d.FreeBytes, TotalBytes: d.TotalBytes}
	}
	return out
}
