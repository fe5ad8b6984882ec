package pull

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/hub"
)

// fullDiskDir, set in the environment, makes TestPullOnAFullDisk the child
// that runs the pull with that directory as its models dir.
const fullDiskDir = "RERANK_API_TEST_FULL_DISK_DIR"

// A disk that fills while a pull downloads a checkpoint, then while it
// converts it, fails the pull with the cause and what to do; nothing is
// left under a final name (the model, or a checkpoint file with part of
// its bytes), and once there is room the same pull completes. The disk is
// a real one, a tmpfs mounted with a size limit: the kernel's ENOSPC comes
// through every layer of the pull, hub and converter alike. Mounting needs
// a mount namespace, so the test runs in a child process in a new user
// namespace, where an unprivileged user may mount a tmpfs.
func TestPullOnAFullDisk(t *testing.T) {
	if dir := os.Getenv(fullDiskDir); dir != "" {
		pullOnAFullDisk(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPullOnAFullDisk$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fullDiskDir+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("no user namespace to mount a small disk in (%v): kernel.unprivileged_userns_clone or the container's seccomp profile forbids it", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the pull on a full disk failed (%v):\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestPullOnAFullDisk") {
		t.Fatalf("the child ran no test:\n%s", out.String())
	}
	t.Log(out.String())
}

func pullOnAFullDisk(t *testing.T, dir string) {
	repo := checkpointRepo(t)
	h := &fakeHub{repos: map[string]map[string][]byte{"org/encoder": repo}}
	p := newPuller(t, h)
	p.ModelsDir = dir
	entry := catalog.Entry{Name: "encoder", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/encoder", Outtype: "f32"}}
	dest := entry.ModelPath(dir)

	// What the download needs: tmpfs charges whole pages per file.
	var list []hub.RemoteFile
	for path := range repo {
		list = append(list, hub.RemoteFile{Path: path})
	}
	include := checkpointFiles(list)
	page := os.Getpagesize()
	checkpointBytes := 0
	for path, data := range repo {
		if include(path) {
			checkpointBytes += (len(data) + page - 1) / page * page
		}
	}

	mount := func(flags uintptr, size int) {
		t.Helper()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size="+strconv.Itoa(size)); err != nil {
			t.Fatalf("mounting a %d-byte tmpfs at %s: %v", size, dir, err)
		}
	}
	pull := func(stage, wants string) {
		t.Helper()
		err := p.Pull(context.Background(), entry)
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") ||
			!strings.Contains(err.Error(), "free space there and pull again") || !strings.Contains(err.Error(), wants) {
			t.Fatalf("%s: got %v, want the disk-full error saying %q and what to do", stage, err, wants)
		}
		t.Logf("%s: %v", stage, err)
		nothingPartial(t, stage, dir, dest, repo)
	}

	// Half the checkpoint fits: the download stops.
	mount(0, checkpointBytes/2)
	pull("download", "downloading")
	// The checkpoint fits with 4 pages to spare, its f32 GGUF does not.
	mount(syscall.MS_REMOUNT, checkpointBytes+4*page)
	pull("conversion", "nothing was written under that name")

	mount(syscall.MS_REMOUNT, 64<<20)
	if err := p.Pull(context.Background(), entry); err != nil {
		t.Fatalf("the pull after space was freed: %v", err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() <= int64(4*page) {
		t.Fatalf("the GGUF is %d bytes: it would have fit beside the checkpoint, so the conversion was not tested on a full disk", st.Size())
	}
	if _, err := gguf.ReadMetadata(dest); err != nil {
		t.Fatalf("the GGUF pulled after the disk was full: %v", err)
	}
}

// nothingPartial fails t when the models dir holds the model, or a file
// under a final name whose bytes are not all the hub's: only a download's
// .partial (a prefix, kept to resume) and its empty .lock may be there.
func nothingPartial(t *testing.T, stage, dir, dest string, repo map[string][]byte) {
	t.Helper()
	if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: the model exists under its final name after a failed pull (stat: %v)", stage, err)
	}
	checkpoints := filepath.Join(dir, ".checkpoints", "org--encoder")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(checkpoints, path)
		rel = filepath.ToSlash(rel)
		if base, ok := strings.CutSuffix(rel, ".partial"); ok && bytes.HasPrefix(repo[base], data) {
			return nil
		}
		if _, ok := strings.CutSuffix(rel, ".lock"); ok && len(data) == 0 {
			return nil
		}
		if want, ok := repo[rel]; !ok || !bytes.Equal(data, want) {
			t.Errorf("%s: %s (%d bytes) is left under a final name", stage, path, len(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
