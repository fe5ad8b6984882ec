// The AI SDK (npm's ai) with @ai-sdk/openai and @ai-sdk/cohere: embed,
// embedMany and rerank, as the providers' documentation shows, with
// baseURL pointing at rerank-api. The SDK validates each response with zod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, embed, embedMany, rerank } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createCohere } from '@ai-sdk/cohere';
import { assertRanking, assertVector, assertVectors, baseURL, expected, tokens } from './expected.js';

const openai = createOpenAI({ apiKey: 'unused', baseURL: `${baseURL}/v1` });
const cohere = createCohere({ apiKey: 'unused', baseURL: `${baseURL}/v2` });
const { texts } = expected;

test('@ai-sdk/openai embed and embedMany', async () => {
  const one = await embed({ model: openai.embedding('tiny-cls'), value: texts[2] });
  assertVector(one.embedding, expected.embeddings['tiny-cls'][2], 'embed');
  assert.equal(one.usage.tokens, tokens('tiny-cls', 2, 3));
  const many = await embedMany({ model: openai.embedding('tiny-mean'), values: texts });
  assertVectors(many.embeddings, 'tiny-mean', 'embedMany');
  assert.equal(many.usage.tokens, tokens('tiny-mean'));
});

test('@ai-sdk/openai dimensions', async () => {
  const { model, size, text, vector } = expected.dimensions;
  const { embedding } = await embed({ model: openai.embedding(model), value: text, providerOptions: { openai: { dimensions: size } } });
  assertVector(embedding, vector, 'dimensions');
});

test('@ai-sdk/cohere embed and embedMany', async () => {
  const one = await embed({
    model: cohere.embedding('tiny-cls'),
    value: texts[2],
    providerOptions: { cohere: { inputType: 'search_document' } },
  });
  assertVector(one.embedding, expected.embeddings['tiny-cls'][2], 'embed');
  const many = await embedMany({ model: cohere.embedding('tiny-cls'), values: texts, providerOptions: { cohere: { truncate: 'END' } } });
  assertVectors(many.embeddings, 'tiny-cls', 'embedMany');
  assert.equal(many.usage.tokens, tokens('tiny-cls'));
});

test('@ai-sdk/cohere rerank', async () => {
  const { model, query, documents } = expected.rerank;
  const { ranking } = await rerank({ model: cohere.reranking(model), documents, query, topN: 3 });
  ranking.forEach((r) => assert.equal(r.document, documents[r.originalIndex]));
  assertRanking(ranking.map((r) => ({ index: r.originalIndex, score: r.score })), 'rerank', 3);
});

test('@ai-sdk/cohere rerank with maxTokensPerDoc', async () => {
  const { model, query, documents, max_tokens_per_doc: maxTokensPerDoc, cut_scores: want } = expected.rerank;
  const { ranking } = await rerank({ model: cohere.reranking(model), documents, query, providerOptions: { cohere: { maxTokensPerDoc } } });
  assertRanking(ranking.map((r) => ({ index: r.originalIndex, score: r.score })), 'maxTokensPerDoc', documents.length, want);
});

// Errors come back in each API's envelope, which the providers parse into
// the message they throw.
test('an unknown model is an error the providers read', async () => {
  const notFound = (err) => {
    assert.ok(APICallError.isInstance(err), `got ${err}`);
    assert.equal(err.statusCode, 404);
    assert.match(err.message, /no-such-model/);
    return true;
  };
  await assert.rejects(embed({ model: openai.embedding('no-such-model'), value: 'hello', maxRetries: 0 }), notFound);
  await assert.rejects(embed({ model: cohere.embedding('no-such-model'), value: 'hello', maxRetries: 0 }), notFound);
  const { query, documents } = expected.rerank;
  await assert.rejects(rerank({ model: cohere.reranking('no-such-model'), documents, query, maxRetries: 0 }), notFound);
});
