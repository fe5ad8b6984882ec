package llamarun_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// llama.cpp reports no offsets: the engine finds each piece in the text,
// ignoring the case llama.cpp's WordPiece folds, and leaves the specials it
// adds without offsets.
func TestTokenizeWithLlamaTokenizer(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.Tiny(41, "cls")
	if err := testmodel.WriteGGUF(filepath.Join(dir, "tiny.gguf"), testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models:
  - {name: tiny, kind: embedding, file: tiny.gguf, query_prefix: "query "}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	rt := llamaRuntime(t)
	e := backend.New(backend.Config{Runtime: rt, ModelsDir: dir, Threads: 2, BudgetBytes: 1 << 30}, cat, zerolog.Nop())
	defer e.Close()

	res, err := e.Tokenize(context.Background(), backend.TokenizeRequest{Model: "tiny", Inputs: []string{"Hello  the DOGs"}, AddSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := cfg.ExpectedIDs("hello the dog")
	want := []backend.Token{
		{ID: ids[0], Text: "[CLS]", Special: true, Start: -1, Stop: -1},
		{ID: ids[1], Text: "Hello", Start: 0, Stop: 5},
		{ID: ids[2], Text: "the", Start: 7, Stop: 10},
		{ID: ids[3], Text: "DOG", Start: 11, Stop: 14},
		{ID: int32(slices.Index(testmodel.DefaultVocab(), "##s")), Text: "s", Start: 14, Stop: 15},
		{ID: ids[4], Text: "[SEP]", Special: true, Start: -1, Stop: -1},
	}
	if !reflect.DeepEqual(res.Tokens[0], want) {
		t.Errorf("got  %+v\nwant %+v", res.Tokens[0], want)
	}

	// The query prefix is tokenized with the text; offsets count from it.
	res, err = e.Tokenize(context.Background(), backend.TokenizeRequest{Model: "tiny", Inputs: []string{"dog"}, InputType: backend.InputQuery})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Tokens[0]; len(got) != 2 || got[0].Text != "query" || got[1].Text != "dog" || got[1].Start != 6 {
		t.Errorf("prefixed: %+v", got)
	}
	if _, err := e.Tokenize(context.Background(), backend.TokenizeRequest{Model: "tiny", Inputs: []string{"dog"}, InputType: "passage"}); err == nil {
		t.Error("unknown input type: no error")
	}
}
