// npm's cohere-ai: the v1 client (CohereClient) and the v2 client
// (CohereClientV2), embed and rerank, with environment pointing at
// rerank-api, called as the SDK's reference.md shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CohereClient, CohereClientV2, CohereError } from 'cohere-ai';
import { assertRanking, assertVector, assertVectors, baseURL, expected, tokens } from './expected.js';

const v1 = new CohereClient({ token: 'unused', environment: baseURL });
const v2 = new CohereClientV2({ token: 'unused', environment: baseURL });
const { texts } = expected;
const { model: reranker, query, documents } = expected.rerank;

test('v1 embed (embeddings_floats)', async () => {
  const res = await v1.embed({ texts, model: 'tiny-cls', inputType: 'search_document' });
  assert.equal(res.responseType, 'embeddings_floats');
  assert.deepEqual(res.texts, texts);
  assertVectors(res.embeddings, 'tiny-cls', 'v1 embed');
  assert.equal(res.meta.billedUnits.inputTokens, tokens('tiny-cls'));
});

test('v1 embed with embeddingTypes', async () => {
  const res = await v1.embed({ texts, model: 'tiny-mean', inputType: 'search_query', embeddingTypes: ['float'] });
  assert.equal(res.responseType, 'embeddings_by_type');
  assertVectors(res.embeddings.float, 'tiny-mean', 'v1 embed by type');
});

test('v1 rerank', async () => {
  const res = await v1.rerank({ documents, query, model: reranker, topN: 3 });
  assertRanking(res.results.map((r) => ({ index: r.index, score: r.relevanceScore })), 'v1 rerank', 3);
  assert.equal(res.meta.billedUnits.searchUnits, 1);
});

test('v1 rerank of {text} documents, returning them', async () => {
  const res = await v1.rerank({ documents: documents.map((text) => ({ text })), query, model: reranker, returnDocuments: true });
  assertRanking(res.results.map((r) => ({ index: r.index, score: r.relevanceScore })), 'v1 rerank documents');
  res.results.forEach((r) => assert.equal(r.document.text, documents[r.index]));
});

test('v2 embed', async () => {
  const res = await v2.embed({ texts, model: 'tiny-cls', inputType: 'classification', embeddingTypes: ['float'] });
  assertVectors(res.embeddings.float, 'tiny-cls', 'v2 embed');
  assert.equal(res.meta.apiVersion.version, '2');
  assert.equal(res.meta.billedUnits.inputTokens, tokens('tiny-cls'));
});

test('v2 embed of inputs, every embedding type', async () => {
  const inputs = texts.map((text) => ({ content: [{ type: 'text', text }] }));
  const embeddingTypes = ['float', 'int8', 'uint8', 'binary', 'ubinary', 'base64'];
  const res = await v2.embed({ inputs, model: 'tiny-cls', inputType: 'search_query', embeddingTypes });
  assertVectors(res.embeddings.float, 'tiny-cls', 'v2 embed inputs');
  const dims = res.embeddings.float[0].length;
  for (const type of embeddingTypes) {
    assert.equal(res.embeddings[type].length, texts.length, `${type}: ${res.embeddings[type].length} embeddings`);
  }
  // int8 is the float scaled by 127 and rounded half away from zero
  // (api.CohereEmbeddings documents it); base64 the float32 bytes,
  // little-endian; binary the sign bits, 8 to a byte.
  const int8 = (x) => Math.max(-128, Math.min(127, Math.sign(x) * Math.round(Math.abs(x) * 127))) + 0;
  res.embeddings.float.forEach((v, i) => {
    assert.deepEqual(res.embeddings.int8[i], v.map(int8), `int8 ${i}`);
    const bytes = Uint8Array.from(Buffer.from(res.embeddings.base64[i], 'base64'));
    assert.deepEqual([...new Float32Array(bytes.buffer)], v.map(Math.fround), `base64 ${i}`);
    assert.equal(res.embeddings.binary[i].length, dims / 8, `binary ${i}`);
  });
});

test('v2 embed with outputDimension', async () => {
  const { model, size, text, vector } = expected.dimensions;
  const res = await v2.embed({ texts: [text], model, inputType: 'search_document', embeddingTypes: ['float'], outputDimension: size });
  assertVector(res.embeddings.float[0], vector, 'outputDimension');
});

test('v2 rerank', async () => {
  const res = await v2.rerank({ documents, query, model: reranker, topN: 3 });
  assertRanking(res.results.map((r) => ({ index: r.index, score: r.relevanceScore })), 'v2 rerank', 3);
});

test('v2 rerank with maxTokensPerDoc', async () => {
  const res = await v2.rerank({ documents, query, model: reranker, maxTokensPerDoc: expected.rerank.max_tokens_per_doc });
  assertRanking(res.results.map((r) => ({ index: r.index, score: r.relevanceScore })), 'maxTokensPerDoc', documents.length, expected.rerank.cut_scores);
});

test('an unknown model is a Cohere error the SDK reads', async () => {
  await assert.rejects(v2.embed({ texts: ['hello'], model: 'no-such-model', inputType: 'search_query', embeddingTypes: ['float'] }), (err) => {
    assert.ok(err instanceof CohereError, `got ${err}`);
    assert.equal(err.statusCode, 404);
    assert.match(err.body.message, /no-such-model/);
    return true;
  });
});
