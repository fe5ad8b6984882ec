package backend

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// availableMemory is the memory this process may still allocate: the
// host's MemAvailable, or less when a cgroup (a container's memory limit,
// Kubernetes' resources.limits.memory) leaves less. ok is false when
// neither can be read (not Linux); a container at its limit has 0, ok.
func availableMemory() (bytes uint64, ok bool) { return availableMemoryUnder("/") }

// availableMemoryUnder reads the files below root, so a test can give it a
// made-up /proc and /sys.
func availableMemoryUnder(root string) (uint64, bool) {
	avail := memAvailable(filepath.Join(root, "proc/meminfo"))
	if room, ok := cgroupRoom(root); ok && (avail == 0 || room < avail) {
		return room, true
	}
	return avail, avail > 0
}

// memAvailable reads MemAvailable from a /proc/meminfo; 0 when absent.
func memAvailable(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupRoom is the memory limit of the process's cgroup minus what it
// uses now, for cgroup v2 (memory.max, memory.current) and v1
// (memory.limit_in_bytes, memory.usage_in_bytes), read where a container
// mounts its own cgroup. ok is false when there is no limit: v2's "max", or
// v1's huge sentinel, which is larger than any machine's memory.
func cgroupRoom(root string) (room uint64, ok bool) {
	for _, files := range [][2]string{
		{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current"},
		{"sys/fs/cgroup/memory/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		limit, ok := readUint(filepath.Join(root, files[0]))
		if !ok {
			continue
		}
		const unlimited = 1 << 60 // v1 writes 2^63 rounded down to a page
		if limit >= unlimited {
			return 0, false
		}
		used, _ := readUint(filepath.Join(root, files[1]))
		if used >= limit {
			return 0, true
		}
		return limit - used, true
	}
	return 0, false
}

// readUint reads a file holding one number; "max" and anything unreadable
// are not one.
func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
