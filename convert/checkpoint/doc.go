// Package checkpoint reads the weights of a Hugging Face model directory —
// safetensors or PyTorch pytorch_model.bin, single file or sharded — as
// named, row-major tensors, and writes safetensors files.
//
// It is the first half of the converter: it knows file formats only, not
// architectures. Which tensors a model needs, how they are renamed for
// llama.cpp and in which dtype they are stored belong to the caller.
//
// Reading is lazy: Open parses headers and indexes, and each Float32 or Raw
// call reads one tensor with ReadAt, so multi-gigabyte checkpoints never sit
// whole in memory.
//
// PyTorch files are zip archives holding a pickle (data.pkl) that describes
// the tensors and one file per storage. Pickle is a program for a stack
// machine that can call any Python function; this package interprets only
// the few opcodes and functions torch.save emits for a state dict and
// refuses everything else by name, so reading an untrusted checkpoint never
// runs code. The legacy pre-1.6 torch format (a bare pickle stream) is not
// supported.
//
// Shapes are PyTorch's row-major shapes ([out, in] for a linear layer);
// strided (non-contiguous) torch tensors are copied into row-major order.
// A Checkpoint may be used by several goroutines at once.
package checkpoint
