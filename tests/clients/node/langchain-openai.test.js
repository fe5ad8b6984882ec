// @langchain/openai: OpenAIEmbeddings, as its README shows, with
// configuration.baseURL pointing at rerank-api.
import { test } from 'node:test';
import { OpenAIEmbeddings } from '@langchain/openai';
import { assertVector, assertVectors, baseURL, expected } from './expected.js';

const configuration = { baseURL: `${baseURL}/v1` };

test('embedQuery and embedDocuments', async () => {
  const embeddings = new OpenAIEmbeddings({ apiKey: 'unused', model: 'tiny-mean', configuration });
  assertVector(await embeddings.embedQuery(expected.texts[2]), expected.embeddings['tiny-mean'][2], 'embedQuery');
  assertVectors(await embeddings.embedDocuments(expected.texts), 'tiny-mean', 'embedDocuments');
});

test('embedDocuments in batches', async () => {
  const embeddings = new OpenAIEmbeddings({ apiKey: 'unused', model: 'tiny-cls', batchSize: 2, configuration });
  assertVectors(await embeddings.embedDocuments(expected.texts), 'tiny-cls', 'batchSize 2');
});

test('dimensions', async () => {
  const { model, size, text, vector } = expected.dimensions;
  const embeddings = new OpenAIEmbeddings({ apiKey: 'unused', model, dimensions: size, configuration });
  assertVector(await embeddings.embedQuery(text), vector, 'dimensions');
});
