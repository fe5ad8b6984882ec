// npm's ollama: embed, as its README shows, on a client whose host is
// rerank-api; model names as Ollama users write them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { assertVector, assertVectors, baseURL, expected, tokens } from './expected.js';

const ollama = new Ollama({ host: baseURL });

test('embed', async () => {
  const res = await ollama.embed({ model: 'tiny-cls:latest', input: expected.texts, keep_alive: '5m' });
  assert.equal(res.model, 'tiny-cls:latest');
  assertVectors(res.embeddings, 'tiny-cls', 'embed');
  assert.equal(res.prompt_eval_count, tokens('tiny-cls'));
});

test('embed one string with dimensions', async () => {
  const { model, size, text, vector } = expected.dimensions;
  const res = await ollama.embed({ model, input: text, dimensions: size });
  assertVector(res.embeddings[0], vector, 'dimensions');
});

test('embeddings (the legacy route)', async () => {
  const res = await ollama.embeddings({ model: 'tiny-mean', prompt: expected.texts[2] });
  assertVector(res.embedding, expected.embeddings['tiny-mean'][2], 'embeddings');
});

// What tools that speak Ollama's API ask first: which models there are.
test('list, show and version', async () => {
  const { models } = await ollama.list();
  const names = models.map((m) => m.name);
  for (const model of Object.keys(expected.embeddings)) {
    assert.ok(names.includes(`${model}:latest`), `list: ${names} lacks ${model}:latest`);
  }
  const show = await ollama.show({ model: 'tiny-cls' });
  assert.deepEqual(show.capabilities, ['embedding']);
  assert.equal(show.details.format, 'gguf');
  const { version } = await ollama.version();
  assert.ok(version, 'version is empty');
});

test('an unknown model is an Ollama error the client reads', async () => {
  await assert.rejects(ollama.embed({ model: 'no-such-model', input: 'hello' }), (err) => {
    assert.equal(err.status_code, 404);
    assert.match(err.error, /no-such-model/);
    return true;
  });
});
