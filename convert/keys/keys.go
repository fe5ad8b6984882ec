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

// BGE-M3's sparse and ColBERT heads travel in a companion GGUF beside the
// model's (llama.cpp refuses a GGUF with tensors its architecture does not
// create: "wrong number of tensors"). The model's GGUF names it and pins
// its content.
const (
	// HeadsFile (string): the companion's file name, in the model's folder.
	HeadsFile = "rerankapi.heads.file"
	// HeadsSHA256 (string): the hex SHA-256 of the companion file.
	HeadsSHA256 = "rerankapi.heads.sha256"
)

// Tensor names inside the heads file, as FlagEmbedding names the modules;
// every tensor is f32 with GGML's dimension order (input first).
const (
	SparseWeight  = "sparse_linear.weight"  // [hidden, 1]
	SparseBias    = "sparse_linear.bias"    // [1]
	ColBERTWeight = "colbert_linear.weight" // [hidden, dim]
	ColBERTBias   = "colbert_linear.bias"   // [dim]
)

// SPLADE models (naver/splade-v3, BertForMaskedLM checkpoints) answer
// sparse vectors only: log(1 + relu(MLM logits)), the max over a
// sequence's tokens. Their masked-LM head travels in the heads file under
// transformers' BertOnlyMLMHead names; the decoder is [hidden, vocab] in
// f32 or f16, the rest f32.
const (
	// SPLADE (bool): the model's output is a SPLADE sparse vector, not a
	// dense embedding.
	SPLADE = "rerankapi.splade"

	MLMDenseWeight   = "cls.predictions.transform.dense.weight"     // [hidden, hidden]
	MLMDenseBias     = "cls.predictions.transform.dense.bias"       // [hidden]
	MLMNormWeight    = "cls.predictions.transform.LayerNorm.weight" // [hidden]
	MLMNormBias      = "cls.predictions.transform.LayerNorm.bias"   // [hidden]
	MLMDecoderWeight = "cls.predictions.decoder.weight"             // [hidden, vocab]
	MLMDecoderBias   = "cls.predictions.bias"                       // [vocab]
)

// Instruction-following models (Qwen3-Embedding, Qwen3-Reranker,
// e5-mistral) read a task instruction before the query. A request may
// bring its own; these keys say where it goes. "{instruction}",
// "{query}" and "{document}" in a template are replaced by the texts.
const (
	// Instruction (string): the model card's default instruction.
	Instruction = "rerankapi.instruction"
	// InstructionQueryPrefix (string): an embedder's query prefix with
	// "{instruction}" in place of the instruction, e.g.
	// "Instruct: {instruction}\nQuery:".
	InstructionQueryPrefix = "rerankapi.instruction.query_prefix"
	// RerankPrefix and RerankSuffix (string): the turns a decoder reranker
	// reads before and after each pair, with special tokens spelt out;
	// RerankPair (string): the pair between them, e.g.
	// "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}".
	RerankPrefix = "rerankapi.rerank.prefix"
	RerankPair   = "rerankapi.rerank.pair"
	RerankSuffix = "rerankapi.rerank.suffix"
)
