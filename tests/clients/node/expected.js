// What every client test reads: the server's URL and the reference numbers
// tests/clients_test.go computed (RERANK_API_URL, RERANK_API_EXPECTED), and
// the comparisons. A wrong number fails the test; so does running it without
// the driver (make go ARGS="test -run TestClientLibraries ./tests/").
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const url = process.env.RERANK_API_URL;
const path = process.env.RERANK_API_EXPECTED;
if (!url || !path) {
  throw new Error('RERANK_API_URL and RERANK_API_EXPECTED are unset: run these tests through `make go ARGS="test -run TestClientLibraries ./tests/"` (after `make build`)');
}

export const baseURL = url;
export const expected = JSON.parse(readFileSync(path, 'utf8'));

// assertVector fails unless got (numbers, or a Float32Array) is want to
// within the suite's tolerance in every component.
export function assertVector(got, want, label) {
  assert.equal(got.length, want.length, `${label}: ${got.length} components, want ${want.length}`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    assert.equal(typeof got[i], 'number', `${label}: component ${i} is ${typeof got[i]}`);
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  assert.ok(worst <= expected.tolerance, `${label}: max abs diff ${worst.toExponential(2)} > ${expected.tolerance}`);
}

// assertVectors compares the embeddings of expected.texts with model's
// reference.
export function assertVectors(got, model, label) {
  const want = expected.embeddings[model];
  assert.equal(got.length, want.length, `${label}: ${got.length} vectors for ${want.length} texts`);
  got.forEach((v, i) => assertVector(v, want[i], `${label} text ${i}`));
}

// tokens is how many tokens model reads for expected.texts (from `from` on).
export function tokens(model, from = 0, to = undefined) {
  return expected.tokens[model].slice(from, to).reduce((a, b) => a + b, 0);
}

// assertRanking checks (index, score) pairs: each score within tolerance of
// the reference (want, by document index), best first, and as many as asked
// (topN, or all).
export function assertRanking(got, label, topN = expected.rerank.documents.length, want = expected.rerank.scores) {
  assert.equal(got.length, topN, `${label}: ${got.length} results, want ${topN}`);
  const best = [...want.keys()].sort((a, b) => want[b] - want[a]);
  got.forEach(({ index, score }, rank) => {
    assert.ok(Number.isInteger(index) && index >= 0 && index < want.length, `${label}: bad index ${index}`);
    const diff = Math.abs(score - want[index]);
    assert.ok(diff <= expected.tolerance, `${label}: document ${index} scored ${score}, reference ${want[index]} (off by ${diff.toExponential(2)})`);
    if (rank > 0) {
      assert.ok(score <= got[rank - 1].score, `${label}: results not sorted by score at rank ${rank}`);
    }
    // The reference's ranking, wherever it separates documents clearly.
    assert.ok(want[index] >= want[best[rank]] - 2 * expected.tolerance, `${label}: rank ${rank} is document ${index}, reference ranks ${best[rank]} there`);
  });
}
