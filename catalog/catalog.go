package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotFound is wrapped by the error Lookup returns for an unknown model, so
// callers can map it to 404 with errors.Is.
var ErrNotFound = errors.New("model is not in the catalog")

// notFoundError keeps the user-facing message free of the sentinel's text
// while still matching ErrNotFound.
type notFoundError struct{ name string }

func (e notFoundError) Error() string {
	return fmt.Sprintf("model %s is not in the catalog; see GET /models or --models-config", quoteName(e.name))
}

func (e notFoundError) Unwrap() error { return ErrNotFound }

// Catalog is the validated set of known models. It is never modified after
// New returns, so it is safe for concurrent use without locks.
type Catalog struct {
	entries []Entry
	byName  map[string]int // exact name -> index in entries
	byRepo  map[string]int // lower-cased HF repo id -> index in entries
}

// New builds the catalog from the built-in models file and, when userFile is
// not "", a user models file in the same format.
//
// A user entry whose name is new is appended after the built-ins. A user entry
// whose name matches a built-in one replaces it in place, but every field the
// user left empty is taken from the built-in entry (sub-fields of source too).
// That lets the common override stay one line — e.g. pointing bge-m3 at a
// local file with `{name: bge-m3, file: /data/bge-m3-q8_0.gguf}` — without
// losing the built-in prefixes, pooling or limits; to clear a built-in value a
// user writes the whole entry under a new name instead. Because an empty
// status inherits too, a user re-enables a built-in unsupported model with
// `status: supported`. Validation runs on the merged result, so an override
// need not repeat kind.
func New(builtin []byte, userFile string) (*Catalog, error) {
	entries, err := Parse(builtin)
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	if userFile == "" {
		return index(entries), nil
	}
	data, err := os.ReadFile(userFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("models config %s does not exist; check --models-config: %w", userFile, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("reading models config: %w", err)
	}
	return withUserFile(entries, userFile, data)
}

// withUserFile is New's merge of a user models file (named userFile in
// messages, holding data) over the parsed built-in entries, which it does
// not modify: FuzzNew parses the built-ins once for every input.
func withUserFile(builtin []Entry, userFile string, data []byte) (*Catalog, error) {
	user, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("models config %s: %w", userFile, err)
	}
	entries := merge(builtin, user)
	// The built-ins passed on their own, so any problem now comes from
	// the user file.
	if err := validate(entries); err != nil {
		return nil, fmt.Errorf("models config %s: %w", userFile, err)
	}
	return index(entries), nil
}

// index makes the catalog of validated entries.
func index(entries []Entry) *Catalog {
	c := &Catalog{
		entries: entries,
		byName:  make(map[string]int, len(entries)),
		byRepo:  make(map[string]int, len(entries)),
	}
	for i, e := range entries {
		c.byName[e.Name] = i
		if e.Repo != "" {
			c.byRepo[foldRepo(e.Repo)] = i
		}
	}
	return c
}

// merge applies user entries to base: the first user entry with a built-in
// name overrides it field by field; anything else is appended. A name the
// user repeats is appended again so that validate reports the duplicate
// rather than one silently winning. base is not modified.
func merge(base, user []Entry) []Entry {
	out := append([]Entry(nil), base...)
	index := make(map[string]int, len(out))
	for i, e := range out {
		index[e.Name] = i
	}
	fromUser := map[string]bool{}
	for _, u := range user {
		if i, ok := index[u.Name]; ok && !fromUser[u.Name] {
			out[i] = overlay(out[i], u)
		} else {
			if !ok {
				index[u.Name] = len(out)
			}
			out = append(out, u)
		}
		fromUser[u.Name] = true
	}
	return out
}

// overlay returns u with its empty fields filled from b.
func overlay(b, u Entry) Entry {
	str := func(u *string, b string) {
		if *u == "" {
			*u = b
		}
	}
	str(&u.Repo, b.Repo)
	if u.Kind == "" {
		u.Kind = b.Kind
	}
	str(&u.Status, b.Status)
	str(&u.Reason, b.Reason)
	if u.Status != StatusUnsupported {
		// A reason only explains unsupported models; an inherited one would
		// contradict a user's `status: supported`.
		u.Reason = ""
	}
	str(&u.Architecture, b.Architecture)
	str(&u.Pooling, b.Pooling)
	if u.Normalize == nil {
		u.Normalize = b.Normalize
	}
	if u.MaxLength == 0 {
		u.MaxLength = b.MaxLength
	}
	if u.Dimensions == 0 {
		u.Dimensions = b.Dimensions
	}
	if u.Matryoshka == nil {
		u.Matryoshka = b.Matryoshka
	}
	if u.MinDimensions == 0 {
		u.MinDimensions = b.MinDimensions
	}
	str(&u.KVCacheType, b.KVCacheType)
	if u.RelevantLabel == nil {
		u.RelevantLabel = b.RelevantLabel
	}
	str(&u.QueryPrefix, b.QueryPrefix)
	str(&u.DocumentPrefix, b.DocumentPrefix)
	if u.Languages == nil {
		u.Languages = b.Languages
	}
	if u.Outputs == nil {
		u.Outputs = b.Outputs
	}
	str(&u.License, b.License)
	str(&u.Description, b.Description)
	str(&u.Size, b.Size)
	str(&u.File, b.File)
	str(&u.Source.Repo, b.Source.Repo)
	str(&u.Source.File, b.Source.File)
	str(&u.Source.SHA256, b.Source.SHA256)
	str(&u.Source.Revision, b.Source.Revision)
	str(&u.Source.Outtype, b.Source.Outtype)
	return u
}

// Lookup finds a model by its short name (exact) or by its Hugging Face repo
// id (ASCII case-insensitive, as the Hub treats ids), so requests may say
// either "bge-m3" or "BAAI/bge-m3". Nothing else resolves: a name is never
// read as a path (see paths.go). An unknown model yields an error wrapping
// ErrNotFound.
func (c *Catalog) Lookup(name string) (Entry, error) {
	if i, ok := c.byName[name]; ok {
		return c.entries[i].clone(), nil
	}
	if i, ok := c.byRepo[foldRepo(name)]; ok && name != "" {
		return c.entries[i].clone(), nil
	}
	return Entry{}, notFoundError{name: name}
}

// Entries returns every model in file order: built-ins first (overrides keep
// the built-in position), then the user's additions. The result is a copy.
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.clone()
	}
	return out
}
