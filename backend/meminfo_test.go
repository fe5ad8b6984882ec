package backend

import (
	"os"
	"path/filepath"
	"testing"
)

// A container's memory limit, not the host's free memory, bounds the
// default budget: in a Kubernetes pod /proc/meminfo shows the whole node.
func TestAvailableMemoryHonoursCgroupLimit(t *testing.T) {
	const gib = 1 << 30
	meminfo := "MemTotal:       65536000 kB\nMemAvailable:   33554432 kB\n" // 32 GiB available
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"no cgroup files", nil, 32 * gib},
		{"v2 without a limit", map[string]string{"sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/memory.current": "1000\n"}, 32 * gib},
		{"v2 limit 4 GiB, 1 GiB used", map[string]string{"sys/fs/cgroup/memory.max": "4294967296\n", "sys/fs/cgroup/memory.current": "1073741824\n"}, 3 * gib},
		{"v2 limit above the host's free memory", map[string]string{"sys/fs/cgroup/memory.max": "68719476736\n", "sys/fs/cgroup/memory.current": "0\n"}, 32 * gib},
		{"v2 limit reached", map[string]string{"sys/fs/cgroup/memory.max": "1000\n", "sys/fs/cgroup/memory.current": "2000\n"}, 0},
		{"v1 limit 2 GiB", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "2147483648\n", "sys/fs/cgroup/memory/memory.usage_in_bytes": "0\n"}, 2 * gib},
		{"v1 without a limit", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n", "sys/fs/cgroup/memory/memory.usage_in_bytes": "5\n"}, 32 * gib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			files := map[string]string{"proc/meminfo": meminfo}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, text := range files {
				path := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got, ok := availableMemoryUnder(root); got != tc.want || !ok {
				t.Errorf("available %d (ok %v), want %d", got, ok, tc.want)
			}
		})
	}
}
