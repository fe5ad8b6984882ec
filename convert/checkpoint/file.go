package checkpoint

import (
	"fmt"
	"strings"
)

// OpenFile opens one weights file outside a model's own layout, such as
// the extra heads a repository keeps beside its model (BGE-M3's
// sparse_linear.pt): a .safetensors file, or else a torch.save archive.
func OpenFile(path string) (*Checkpoint, error) {
	read := readTorch
	if strings.HasSuffix(path, ".safetensors") {
		read = readSafetensors
	}
	s, err := openShard(path, read)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	c := &Checkpoint{path: path, tensors: map[string]*tensor{}, metadata: map[string]string{}}
	if err := c.add(s); err != nil {
		c.Close()
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return c, nil
}
