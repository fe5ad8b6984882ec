// Package vocab turns the tokenizer files of a Hugging Face model into the
// tokenizer.ggml.* metadata llama.cpp loads from GGUF.
//
// FromDir picks the tokenizer file of a model directory and returns a Vocab
// in one of llama.cpp's three forms:
//
//   - "bert" (WPM) from WordPiece (tokenizer.json or vocab.txt). llama.cpp
//     looks words up with a "▁" in front and continuation pieces without
//     their "##", so tokens are stored in that "phantom space" form, as
//     convert_hf_to_gguf.py writes them. llama.cpp always lowercases and
//     strips accents here, and cannot run BertJapaneseTokenizer's MeCab
//     step: such models convert with a warning, and tokenizer/bertjapanese
//     tokenizes them at run time.
//   - "t5" (UGM) from SentencePiece unigram (tokenizer.json with a
//     Precompiled normalizer, or a .model file), with scores, the
//     normalizer's precompiled charsmap and the whitespace flags. XLM-R's
//     sentencepiece.bpe.model is renumbered into transformers' fairseq
//     layout (<s> <pad> </s> <unk>, pieces shifted by one, <mask> last).
//   - "llama" (SPM) from SentencePiece BPE (tokenizer.model, or a
//     tokenizer.json BPE with "▁" word marks and byte fallback).
//
// Special tokens come from the tokenizer file, then tokenizer_config.json
// and special_tokens_map.json, as transformers reads them. Vocab.Warnings
// lists where llama.cpp is known to tokenize differently from the source
// tokenizer. WriteGGUF adds the metadata to a gguf.Writer; it refuses a
// vocabulary llama.cpp would abort on (duplicate tokens).
//
// The .model protobuf is parsed by hand (encoding/protowire): only the
// fields llama.cpp needs are read, so no generated code is vendored.
//
// The package reads tokenizer files and writes metadata; it does not
// tokenize (llama.cpp does, and tokenizer/ does where llama.cpp cannot) and
// writes no tensors.
package vocab
