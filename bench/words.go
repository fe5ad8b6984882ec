package bench

import (
	"math/rand/v2"
	"strings"
)

// words are common English words that BERT's WordPiece vocabularies and
// XLM-R's SentencePiece one each keep as a single token, so a text of n of
// them is about n tokens plus the model's special tokens: what --tokens
// promises, without shipping a tokenizer in the client. A model with
// another vocabulary (a tiny test model, a Japanese one) splits them into
// more pieces; then only the server's usage counts are exact.
var words = strings.Fields(`
the of and to in is was for on are with as by be at this from that have or
not but all were which when one can their there been has more will would who
if out so up said what its about into than them only other new some time
could these two may first then do any like my now over such our man me even
most made after also did many before must through back years where much your
way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being
under never day same another know while last might us great old year off come
since against go came right used take three states himself few house use during
without again place around however home small found thought went say part once
general high upon school every does got united left number course war until
always away something fact though water less public put think almost hand
enough far took head yet government system better set told nothing night end
why called eyes find going look asked later knew point next program city
business give group toward young days let room president side social given
present several order national possible rather second face per among form
important often things looked early white case john become large big need four
within felt along children saw best church ever least power development light
`)

// text is n words drawn by rng, separated by spaces.
func text(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

// Streams keep the warm-up's texts apart from the measured requests', so
// request n is the same whatever --warmup is.
const (
	measuredStream uint64 = iota
	warmupStream
)

// payload is the texts of one request: inputs to embed, or a query and the
// documents to rank against it.
type payload struct {
	query string
	texts []string
	// estimate is the tokens the texts hold at one token per word; for
	// rerank the query is read once beside every document, as a
	// cross-encoder does.
	estimate int
}

// payloadOf builds request n of a stream: a generator seeded by the seed,
// the stream and n alone, so the same n carries the same texts in every
// run and from every client goroutine.
func (c *Config) payloadOf(stream, n uint64) payload {
	rng := rand.New(rand.NewPCG(uint64(c.Seed)^stream<<62, n))
	if c.API.rerank() {
		p := payload{query: text(rng, c.QueryTokens), texts: make([]string, c.Documents)}
		for i := range p.texts {
			p.texts[i] = text(rng, c.Tokens)
		}
		p.estimate = c.Documents * (c.QueryTokens + c.Tokens)
		return p
	}
	p := payload{texts: make([]string, c.Inputs)}
	for i := range p.texts {
		p.texts[i] = text(rng, c.Tokens)
	}
	p.estimate = c.Inputs * c.Tokens
	return p
}
