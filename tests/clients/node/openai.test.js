// npm's openai: client.embeddings.create, as its README and api.md show,
// with baseURL pointing at rerank-api. The SDK asks for base64 unless told
// otherwise and decodes it itself; both encodings are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { assertVector, assertVectors, baseURL, expected, tokens } from './expected.js';

const client = new OpenAI({ apiKey: 'unused', baseURL: `${baseURL}/v1` });

for (const model of Object.keys(expected.embeddings)) {
  test(`embeddings.create ${model} (the SDK's default, base64)`, async () => {
    const res = await client.embeddings.create({ model, input: expected.texts });
    assert.equal(res.object, 'list');
    assert.equal(res.model, model);
    res.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.equal(d.object, 'embedding');
    });
    assertVectors(res.data.map((d) => d.embedding), model, 'embeddings.create');
    assert.equal(res.usage.prompt_tokens, tokens(model));
    assert.equal(res.usage.total_tokens, tokens(model));
  });
}

test('embeddings.create with encoding_format float and one string', async () => {
  const res = await client.embeddings.create({ model: 'tiny-cls', input: expected.texts[1], encoding_format: 'float' });
  assert.equal(res.data.length, 1);
  assertVector(res.data[0].embedding, expected.embeddings['tiny-cls'][1], 'float');
  assert.equal(res.usage.prompt_tokens, tokens('tiny-cls', 1, 2));
});

test('embeddings.create of token ids', async () => {
  const res = await client.embeddings.create({ model: 'tiny-mean', input: expected.token_ids['tiny-mean'] });
  assertVectors(res.data.map((d) => d.embedding), 'tiny-mean', 'token ids');
});

test('embeddings.create with dimensions', async () => {
  const { model, size, text, vector } = expected.dimensions;
  const res = await client.embeddings.create({ model, input: text, dimensions: size });
  assertVector(res.data[0].embedding, vector, 'dimensions');
});

test('an unknown model is an OpenAI error the SDK reads', async () => {
  await assert.rejects(client.embeddings.create({ model: 'no-such-model', input: 'hello' }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, `got ${err}`);
    assert.match(err.message, /no-such-model/);
    return true;
  });
});
