import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// The core is a pure state machine: time, randomness and I/O come from outside.
const FORBIDDEN = [
  /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bqueueMicrotask\b/,
  /\bDate\.now\b/, /\bnew Date\b/, /\bperformance\.now\b/, /\bMath\.random\b/,
  /from ['"]node:/, /require\(/, /\bprocess\./, /\bWebSocket\b/, /\bRTCPeerConnection\b/, /\bfetch\(/,
];

test('packages/core/src has no timers, clocks, randomness or I/O', () => {
  const dir = new URL('.', import.meta.url).pathname;
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.length > 5);
  for (const file of files) {
    // Comments may name what the code must not use.
    const source = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const pattern of FORBIDDEN) assert.doesNotMatch(source, pattern, `${file} uses ${pattern}`);
  }
});
