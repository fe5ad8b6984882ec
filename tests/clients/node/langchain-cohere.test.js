// @langchain/cohere: CohereRerank (and CohereEmbeddings), given a cohere-ai
// client whose environment is rerank-api, the way to point them elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Document } from '@langchain/core/documents';
import { CohereEmbeddings, CohereRerank } from '@langchain/cohere';
import { CohereClient } from 'cohere-ai';
import { assertRanking, assertVector, assertVectors, baseURL, expected } from './expected.js';

const client = new CohereClient({ token: 'unused', environment: baseURL });
const { model, query, documents } = expected.rerank;

test('CohereRerank.rerank', async () => {
  const reranker = new CohereRerank({ client, model });
  const results = await reranker.rerank(documents, query);
  // LangChain's default topN is 3.
  assertRanking(results.map((r) => ({ index: r.index, score: r.relevanceScore })), 'rerank', 3);
  const all = await reranker.rerank(documents, query, { topN: documents.length });
  assertRanking(all.map((r) => ({ index: r.index, score: r.relevanceScore })), 'rerank topN', documents.length);
});

test('CohereRerank.compressDocuments', async () => {
  const reranker = new CohereRerank({ client, model, topN: 3 });
  const docs = documents.map((text, i) => new Document({ pageContent: text, metadata: { i } }));
  const kept = await reranker.compressDocuments(docs, query);
  kept.forEach((d) => assert.equal(d.pageContent, documents[d.metadata.i]));
  assertRanking(kept.map((d) => ({ index: d.metadata.i, score: d.metadata.relevanceScore })), 'compressDocuments', 3);
});

test('CohereEmbeddings', async () => {
  const embeddings = new CohereEmbeddings({ client, model: 'tiny-cls' });
  assertVector(await embeddings.embedQuery(expected.texts[2]), expected.embeddings['tiny-cls'][2], 'embedQuery');
  assertVectors(await embeddings.embedDocuments(expected.texts), 'tiny-cls', 'embedDocuments');
});
