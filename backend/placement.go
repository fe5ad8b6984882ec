package backend

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// bookModel says where a model's memory will live once loaded: its
// weights (fileBytes, the whole GGUF) and its contexts' buffers
// (contextBytes, all workers').
//
// Without offload (GPULayers 0, or no GPU in cfg.Devices) all of it is RAM.
// With offload it follows llama.cpp's own placement (llama-model.cpp
// load_tensors), tensor by tensor, sized from the gaps between the GGUF's
// tensor offsets (the reader gives no sizes, and quantized types would
// need ggml's block sizes):
//   - the input layer (token_embd, position_embd, token_types,
//     token_embd_norm) always stays on the CPU, and so does the header
//     (metadata, vocabulary);
//   - the last GPULayers of the repeating layers (blk.N) and the output
//     layer (every other tensor: output norm, pooler, classifier head) go
//     to the GPUs, all of them when GPULayers is negative;
//   - with several GPUs, llama.cpp's default layer split gives each a run
//     of layers in proportion to its free memory at load time; the budgets,
//     cmd's fraction of the free memory at start, stand in for it.
//
// Every device that computes repeating layers, the CPU's RAM included when
// some stay there, books contextBytes in full: each device keeps its own
// compute buffer, sized by the widest step it runs, and each runs whole
// layers (attention included). With every layer offloaded the host's part
// of a context (the input embeddings' rows and the pooled outputs, tokens ×
// width floats) is not booked.
func bookModel(meta *gguf.Metadata, fileBytes, contextBytes uint64, cfg Config) (Booking, error) {
	if cfg.GPULayers == 0 || len(cfg.Devices) == 0 {
		return Booking{HostMemory: fileBytes + contextBytes}, nil
	}
	header := ggufHeader{meta}
	nLayer, err := positiveMeta(header, header.Meta("general.architecture")+".block_count")
	if err != nil {
		return nil, err
	}
	place := newLayerPlacement(nLayer, cfg.GPULayers, cfg.Devices)
	b := Booking{HostMemory: min(uint64(meta.DataOffset), fileBytes)}
	computing := map[string]bool{}
	for name, bytes := range tensorBytes(meta, fileBytes) {
		stem, _, _ := strings.Cut(name, ".")
		switch layer, ok := repeatingLayer(name); {
		case inputTensors[stem]:
			b[HostMemory] += bytes
		case ok:
			dev := place.device(layer)
			b[dev] += bytes
			computing[dev] = true
		default:
			b[place.device(nLayer)] += bytes
		}
	}
	for dev := range computing {
		b[dev] += contextBytes
	}
	return b, nil
}

// inputTensors are llama.cpp's LLM_TENSOR_LAYER_INPUT tensors (llama-arch.cpp)
// by their names' stems: llama.cpp keeps them on the CPU whatever is offloaded.
var inputTensors = map[string]bool{"token_embd": true, "position_embd": true, "token_types": true, "token_embd_norm": true}

// repeatingLayer is N for a tensor named blk.N.*.
func repeatingLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, ".")
	layer, err := strconv.Atoi(n)
	return layer, err == nil && layer >= 0
}

// tensorBytes sizes each tensor by the gap to the next one's data (the
// last one's runs to the end of the file), alignment padding included.
func tensorBytes(meta *gguf.Metadata, fileBytes uint64) map[string]uint64 {
	tensors := slices.SortedFunc(slices.Values(meta.Tensors), func(a, b gguf.TensorInfo) int { return cmp.Compare(a.Offset, b.Offset) })
	end := fileBytes - min(uint64(meta.DataOffset), fileBytes)
	sizes := make(map[string]uint64, len(tensors))
	for i := len(tensors) - 1; i >= 0; i-- {
		start := min(tensors[i].Offset, end)
		sizes[tensors[i].Name] += end - start
		end = start
	}
	return sizes
}

// layerPlacement is llama.cpp's assignment of layers to devices
// (llama-model.cpp load_tensors, get_layer_buft_list): layer nLayer is the
// output layer.
type layerPlacement struct {
	gpuStart, gpuLayers int
	splits              []float64 // cumulative share of each device, the last 1
	devices             []string
}

func newLayerPlacement(nLayer, gpuLayers int, devices []DeviceBudget) layerPlacement {
	if gpuLayers < 0 {
		gpuLayers = nLayer + 1 // llama.go loads with 999: everything
	}
	p := layerPlacement{gpuStart: max(nLayer-gpuLayers, 0), gpuLayers: min(gpuLayers, nLayer+1)}
	// llama.cpp splits by free memory; a device without any gets no layer,
	// unless none has any: then the split is even.
	share := func(d DeviceBudget) float64 { return float64(d.BudgetBytes) }
	var total float64
	for _, d := range devices {
		total += share(d)
	}
	if total == 0 {
		share = func(DeviceBudget) float64 { return 1 }
		total = float64(len(devices))
	}
	var sum float64
	for _, d := range devices {
		sum += share(d)
		p.splits = append(p.splits, sum/total)
		p.devices = append(p.devices, d.Name)
	}
	return p
}

// device is where layer il lives: HostMemory or a GPU's name.
func (p layerPlacement) device(il int) string {
	if il < p.gpuStart || il-p.gpuStart >= p.gpuLayers {
		return HostMemory
	}
	x := float64(il-p.gpuStart) / float64(p.gpuLayers)
	i := sort.Search(len(p.splits), func(i int) bool { return p.splits[i] > x }) // std::upper_bound
	return p.devices[min(i, len(p.devices)-1)]
}
