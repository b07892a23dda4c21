import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount } from './format';

test('counts shorten by thousands', () => {
  assert.deepEqual([0, 999, 1234, 56_789, 1_234_567, 45_000_000].map(formatCount), ['0', '999', '1.2k', '57k', '1.23M', '45.0M']);
});

test('bytes use binary units', () => {
  assert.deepEqual([0, 1023, 1024, 1536 * 1024, 5 * 1024 ** 3, 3 * 1024 ** 5].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 MiB', '5.0 GiB', '3072 TiB']);
});
