// Package keys names the GGUF metadata keys rerank-api adds to the files it
// converts, so the converter that writes them and the engine that reads them
// share one spelling. They live under one namespace, apart from llama.cpp's
// own keys, and llama.cpp ignores them.
//
// Each key records a sentence-transformers or tokenizer setting the catalog
// would otherwise have to repeat; catalog entries still override them.
package keys

const (
	// Normalize (bool): the model ends with a Normalize module, so its
	// embeddings are meant to be L2-normalized.
	Normalize = "rerankapi.normalize"
	// MaxLength (uint32): sentence-transformers' max_seq_length, which may
	// be shorter than the positions the model was trained with.
	MaxLength = "rerankapi.max_length"
	// QueryPrefix and DocumentPrefix (string): the model's prompts, e.g.
	// "query: " and "passage: ".
	QueryPrefix    = "rerankapi.query_prefix"
	DocumentPrefix = "rerankapi.document_prefix"
	// ScoreActivation (string): sigmoid, softmax or none; what turns a
	// cross-encoder's logits into scores.
	ScoreActivation = "rerankapi.score_activation"
	// SourceArchitecture (string): the Hugging Face architecture converted.
	SourceArchitecture = "rerankapi.source.architecture"
	// TokenizerClass (string) and TokenizerConfig (string, the JSON of
	// tokenizer_config.json) are kept for tokenizers llama.cpp cannot
	// reproduce, such as BertJapaneseTokenizer (MeCab + WordPiece), so the
	// Go tokenizer can take over at run time.
	TokenizerClass  = "rerankapi.tokenizer.class"
	TokenizerConfig = "rerankapi.tokenizer.config"
)
