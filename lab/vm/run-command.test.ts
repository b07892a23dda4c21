// runCommand: a command that stops reading its input early (as xz --single-stream does on a bzImage)
// succeeds with its output, and a failing command names itself and its error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from './run-command';

test('a command that reads only part of a large input succeeds; the EPIPE on its stdin is no error', async () => {
  // 8 MiB is far more than a pipe holds, so the writer is still writing when head exits.
  const out = await runCommand('head', ['-c', '4'], { input: Buffer.alloc(8 << 20, 0x41) });
  assert.equal(out.toString(), 'AAAA');
});

test('a command that fails is reported with its name and stderr', async () => {
  await assert.rejects(runCommand('sh', ['-c', 'echo broken >&2; exit 3']), /sh -c .* failed: broken/);
});
