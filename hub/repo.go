package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
)

// RemoteFile is one file of a repository at a revision.
type RemoteFile struct {
	Path   string // slash-separated, relative to the repository root
	Size   int64
	SHA256 string // LFS object id; "" for small files kept in git itself
}

// ListFiles lists the files of repo ("org/name") at revision ("" means main).
func (c *Client) ListFiles(ctx context.Context, repo, revision string) ([]RemoteFile, error) {
	_, files, err := c.listFiles(ctx, repo, revision)
	return files, err
}

// listFiles also returns the commit the revision pointed at, so a caller can
// download every file from the same commit even if the branch moves meanwhile.
func (c *Client) listFiles(ctx context.Context, repo, revision string) (string, []RemoteFile, error) {
	revision = orDefault(revision)
	u := c.endpoint() + "/api/models/" + escapePath(repo) + "/revision/" + url.PathEscape(revision) + "?blobs=true"
	resp, err := c.send(ctx, http.MethodGet, u, nil, true)
	if err != nil {
		return "", nil, fmt.Errorf("listing %s at %s: %w", repo, revision, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, c.statusError(resp, repo, repo+" at "+revision)
	}
	var info struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      int64  `json:"size"`
			LFS       *struct {
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return "", nil, fmt.Errorf("listing %s at %s: reading the hub's answer: %w", repo, revision, err)
	}
	files := make([]RemoteFile, 0, len(info.Siblings))
	for _, s := range info.Siblings {
		f := RemoteFile{Path: s.RFilename, Size: s.Size}
		if s.LFS != nil {
			f.SHA256, f.Size = strings.ToLower(s.LFS.SHA256), s.LFS.Size
		}
		files = append(files, f)
	}
	return info.SHA, files, nil
}

// DownloadRepo downloads the files of repo at revision for which include
// returns true (nil: all) into destDir, keeping the repository's layout. All
// files come from the commit the revision points at when listed. Files already
// in destDir with the listed sha256 are skipped; small git files (no sha256)
// are fetched again.
func (c *Client) DownloadRepo(ctx context.Context, repo, revision, destDir string, include func(path string) bool, progress ProgressFunc) error {
	commit, files, err := c.listFiles(ctx, repo, revision)
	if err != nil {
		return err
	}
	if commit == "" {
		commit = orDefault(revision)
	}
	matched := 0
	for _, f := range files {
		if include != nil && !include(f.Path) {
			continue
		}
		// The path comes from the network: never let it leave destDir.
		local := filepath.FromSlash(f.Path)
		if !filepath.IsLocal(local) {
			return fmt.Errorf("hub listed an unsafe path %q in %s; not downloading it", f.Path, repo)
		}
		matched++
		opts := DownloadOptions{SHA256: f.SHA256, Progress: progress}
		if err := c.Download(ctx, repo, commit, f.Path, filepath.Join(destDir, local), opts); err != nil {
			return err
		}
	}
	if matched == 0 {
		return fmt.Errorf("%w: no file of %s at %s is wanted (%d files listed)", ErrNotFound, repo, orDefault(revision), len(files))
	}
	return nil
}
