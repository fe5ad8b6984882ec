package catalog

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A request names a model; it never names a file. Lookup only ever returns a
// catalog entry, and an entry's GGUF path (ModelPath) is built from what the
// operator wrote in the catalog, checked here when the catalog is loaded:
//
//   - a name is one plain file-name component: no slash or backslash, not "."
//     or "..", no NUL or other control character, at most MaxNameLen bytes of
//     valid UTF-8, so <models-dir>/<name>.gguf stays in the models dir;
//   - a relative file: stays under the models dir (no "..", no NUL); a file
//     elsewhere is written as an absolute path, which says so plainly;
//   - a repo and a source.repo are Hugging Face ids (NAME or ORG/NAME with no
//     empty, "." or ".." part), and a source.file is a path inside the repo.
//
// Symlinks are the operator's: a file or a symlink in the models dir that
// points elsewhere is followed. Only the operator (and pull, which writes
// regular files under names taken from the catalog) writes there, and the
// operator can already name any absolute path with file:; refusing links
// would break the usual ways of sharing one copy of the weights (a volume
// mounted through a link, the Hugging Face cache's snapshot links).

// MaxNameLen bounds a model name: with ".gguf" it stays within the 255-byte
// file-name limit of common file systems.
const MaxNameLen = 200

// maxQuoted is how much of an unknown name an error repeats: the message goes
// back to the client and into the log, and a name can be megabytes long.
const maxQuoted = 100

// checkName says what is wrong with a model name, or "" when nothing is.
func checkName(name string) string {
	switch {
	case strings.ContainsAny(name, `/\`) || strings.TrimSpace(name) != name:
		// A slash would make the name look like a repo id in requests and
		// put the default <name>.gguf outside the models dir.
		return "name must not contain slashes or surrounding spaces"
	case name == "." || name == "..":
		return "name must not be . or .."
	case len(name) > MaxNameLen:
		return fmt.Sprintf("name is %d bytes long; the most is %d", len(name), MaxNameLen)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "name must be valid UTF-8 without control characters (NUL, newlines, tabs)"
	}
	return ""
}

// checkFile says what is wrong with an entry's file:, or "" when nothing is.
func checkFile(file string) string {
	switch {
	case file == "":
		return ""
	case strings.ContainsRune(file, 0):
		return "file must not contain NUL"
	case filepath.IsAbs(file):
		return ""
	case !filepath.IsLocal(file):
		return fmt.Sprintf("file %q leaves the models dir; write an absolute path for a file elsewhere", file)
	}
	return ""
}

// checkRepo says what is wrong with a Hugging Face repo id, or "" when
// nothing is. It does not try to be the Hub's full grammar, only to keep ids
// that would change the shape of a hub URL or of a local folder named after
// them (.checkpoints/ORG--NAME) out.
func checkRepo(field, repo string) string {
	if repo == "" {
		return ""
	}
	parts := strings.Split(repo, "/")
	ok := len(parts) <= 2
	for _, p := range parts {
		ok = ok && p != "" && p != "." && p != ".." && !strings.ContainsAny(p, `\?#%`) &&
			!strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	}
	if !ok || !utf8.ValidString(repo) {
		return fmt.Sprintf("%s %q is not a Hugging Face repo id (NAME or ORG/NAME)", field, repo)
	}
	return ""
}

// checkSourceFile says what is wrong with a source.file, or "" when nothing
// is: it is a path inside the repository.
func checkSourceFile(file string) string {
	if file == "" {
		return ""
	}
	if strings.ContainsAny(file, "\\\x00") || path.IsAbs(file) || !filepath.IsLocal(filepath.FromSlash(file)) {
		return fmt.Sprintf("source.file %q is not a path inside the repository", file)
	}
	return ""
}

// pathProblems lists what is wrong with e's names and paths.
func pathProblems(e Entry) []string {
	var out []string
	for _, p := range []string{
		checkName(e.Name), checkFile(e.File), checkRepo("repo", e.Repo),
		checkRepo("source.repo", e.Source.Repo), checkSourceFile(e.Source.File),
	} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// quoteName quotes a name for a message, cut to maxQuoted bytes.
func quoteName(name string) string {
	if len(name) <= maxQuoted {
		return fmt.Sprintf("%q", name)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", name[:cut], len(name))
}

// SameRepo reports whether two Hugging Face repo ids name the same repo, as
// Lookup matches them.
func SameRepo(a, b string) bool { return foldRepo(a) == foldRepo(b) }

// foldRepo lower-cases ASCII letters only. The Hub compares ids without
// regard to ASCII case; Unicode case mapping would also turn look-alikes
// such as the Kelvin sign (U+212A) into "k" and let them name a model.
func foldRepo(repo string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, repo)
}
