package ggufcheck

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// arch is the hyperparameters Check compares the tensors with.
type arch struct {
	name   string
	embd   uint64 // n_embd
	layers uint64 // n_layer
	vocab  *vocab // nil for a file without a vocabulary ("none")
}

// readArch reads and checks the keys llama.cpp's load_hparams requires or
// asserts on. Integer keys must have the exact type llama.cpp reads them
// as: it refuses others, and a value read here under another type would
// not be the value llama.cpp sees.
func readArch(m *gguf.Metadata) (*arch, error) {
	name, err := str(m, "general.architecture", true)
	if err != nil {
		return nil, err
	}
	a := &arch{name: name}
	key := func(suffix string) string { return name + "." + suffix }
	if _, err := positive(m, key("context_length"), true); err != nil {
		return nil, err
	}
	if a.embd, err = positive(m, key("embedding_length"), true); err != nil {
		return nil, err
	}
	if a.layers, err = positive(m, key("block_count"), true); err != nil {
		return nil, err
	}
	if a.layers > maxLayers {
		return nil, fmt.Errorf("%s = %d exceeds llama.cpp's %d layers", key("block_count"), a.layers, maxLayers)
	}
	heads, err := perLayer(m, key("attention.head_count"), a.layers)
	if err != nil {
		return nil, err
	}
	kvHeads, err := perLayer(m, key("attention.head_count_kv"), a.layers)
	if err != nil {
		return nil, err
	}
	if _, err := perLayer(m, key("feed_forward_length"), a.layers); err != nil {
		return nil, err
	}
	_, hasKeyLength := m.Value(key("attention.key_length"))
	for i, h := range heads {
		// llama.cpp sizes a head as n_embd / n_head unless the file says
		// otherwise; a remainder would make the attention tensors' shapes
		// disagree with the file's in ways later checks cannot see.
		if !hasKeyLength && a.embd%h != 0 {
			return nil, fmt.Errorf("%s = %d does not divide %s = %d", key("attention.head_count"), h, key("embedding_length"), a.embd)
		}
		if kvHeads != nil && h%kvHeads[i] != 0 {
			return nil, fmt.Errorf("layer %d: %d attention heads are not a multiple of its %d key/value heads", i, h, kvHeads[i])
		}
	}
	for _, k := range []string{"attention.key_length", "attention.value_length"} {
		if _, err := positive(m, key(k), false); err != nil {
			return nil, err
		}
	}
	if err := checkExperts(m, key); err != nil {
		return nil, err
	}
	if scaling, err := str(m, key("rope.scaling.type"), false); err != nil {
		return nil, err
	} else if scaling != "" && !ropeScalings[scaling] {
		return nil, fmt.Errorf("%s = %q is not one of none, linear, yarn, longrope", key("rope.scaling.type"), scaling)
	}
	if a.vocab, err = readVocab(m); err != nil {
		return nil, err
	}
	return a, nil
}

// ropeScalings are llama.cpp's LLAMA_ROPE_SCALING_TYPES; it asserts on any
// other name.
var ropeScalings = map[string]bool{"none": true, "linear": true, "yarn": true, "longrope": true}

// checkExperts mirrors load_hparams' GGML_ASSERTs on the mixture-of-experts
// counts, which every architecture reads.
func checkExperts(m *gguf.Metadata, key func(string) string) error {
	var n [4]uint64
	for i, k := range []string{"expert_count", "expert_used_count", "expert_group_count", "expert_group_used_count"} {
		v, err := uint32Key(m, key(k), false)
		if err != nil {
			return err
		}
		n[i] = v
	}
	experts, used, groups, groupsUsed := n[0], n[1], n[2], n[3]
	ok := experts <= maxExperts && used <= experts
	if experts > 0 {
		ok = ok && used > 0 && groups < experts
		if groups > 1 {
			ok = ok && experts%groups == 0 && groupsUsed > 0 && groupsUsed < groups
		}
	} else {
		ok = ok && used == 0 && groups == 0
	}
	if !ok {
		return fmt.Errorf("inconsistent expert counts: %s %d, used %d, groups %d, groups used %d", key("expert_count"), experts, used, groups, groupsUsed)
	}
	return nil
}

// blockTensor names a per-layer tensor: blk.<layer>.<name>.
var blockTensor = regexp.MustCompile(`^blk\.(\d+)\.(.+)$`)

// check compares the tensors whose shapes follow from the hyperparameters
// and the vocabulary with them. Which tensors an architecture requires is
// llama.cpp's to say (it refuses a file that lacks one); the shapes checked
// here are the ones every architecture rerank-api serves shares.
func (a *arch) check(m *gguf.Metadata) error {
	labels := uint64(1) // llama.cpp's n_cls_out without a label list
	if v, ok := m.Value(a.name + ".classifier.output_labels"); ok {
		l, isStrings := v.([]string)
		if !isStrings {
			return fmt.Errorf("%s.classifier.output_labels is not a list of label names", a.name)
		}
		if len(l) > 0 { // llama.cpp reads an empty list as no list
			labels = uint64(len(l))
		}
	}
	typeCount, err := uint32Key(m, "tokenizer.ggml.token_type_count", false)
	if err != nil {
		return err
	}
	var found bool
	for _, t := range m.Tensors {
		var want []uint64 // nil: any size in that dimension
		switch t.Name {
		case "token_embd.weight":
			found = true
			if a.vocab != nil {
				want = []uint64{a.embd, uint64(len(a.vocab.tokens))}
			} else {
				want = []uint64{a.embd, 0}
			}
		case "token_types.weight":
			want = []uint64{a.embd, typeCount}
		case "position_embd.weight":
			want = []uint64{a.embd, 0}
		case "cls.output.weight":
			want = []uint64{0, labels}
		}
		if sub := blockTensor.FindStringSubmatch(t.Name); sub != nil {
			layer, err := strconv.ParseUint(sub[1], 10, 64)
			if err != nil || layer >= a.layers {
				return fmt.Errorf("tensor %q is for layer %s of a %d-layer model", t.Name, sub[1], a.layers)
			}
			switch sub[2] {
			case "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_qkv.weight", "ffn_up.weight", "ffn_gate.weight":
				want = []uint64{a.embd, 0}
			case "attn_output.weight", "ffn_down.weight":
				want = []uint64{0, a.embd}
			}
		}
		if !shapeMatches(t.Ne, want) {
			return fmt.Errorf("tensor %q has shape %v, want %s (from %s.embedding_length, the vocabulary and the label count)", t.Name, t.Ne, shapeText(want), a.name)
		}
	}
	if !found {
		return fmt.Errorf("no token_embd.weight tensor")
	}
	return nil
}

// shapeMatches reports whether ne has want's dimensions; 0 in want matches
// any size. Trailing dimensions of 1 are the same tensor to ggml, and
// gguf.cpp leaves them out: llama-quantize writes a [64 1] head as [64].
func shapeMatches(ne, want []uint64) bool {
	if want == nil {
		return true
	}
	for i, w := range want {
		n := uint64(1)
		if i < len(ne) {
			n = ne[i]
		}
		if w != 0 && n != w {
			return false
		}
	}
	for _, n := range ne[min(len(want), len(ne)):] {
		if n != 1 {
			return false
		}
	}
	return true
}

func shapeText(want []uint64) string {
	s := "["
	for i, w := range want {
		if i > 0 {
			s += " "
		}
		if w == 0 {
			s += "*"
		} else {
			s += strconv.FormatUint(w, 10)
		}
	}
	return s + "]"
}
