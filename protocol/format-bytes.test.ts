import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from './format-bytes';

test('bytes use binary units', () => {
  assert.deepEqual([0, 1023, 1024, 1536 * 1024, 5 * 1024 ** 3, 3 * 1024 ** 5].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 MiB', '5.0 GiB', '3072 TiB']);
});

test('ten units and more drop the decimal', () => {
  assert.deepEqual([10 * 1024, 65536, 1023 * 1024].map(formatBytes), ['10 KiB', '64 KiB', '1023 KiB']);
});
