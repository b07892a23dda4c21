// A sweep removes the folders of VM runs whose process is gone, and keeps live ones and foreign ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFolder, sweepDeadFolders } from './leftovers';

test('sweepDeadFolders removes a dead run\'s folders only', () => {
  const parent = mkdtempSync(join(tmpdir(), 'leftovers-test-'));
  try {
    const dead = spawnSync('true').pid as number;
    mkdirSync(join(parent, `run-${dead}-abc`));
    mkdirSync(join(parent, `linsock-vm-${dead}-abc`));
    const mine = runFolder(parent, 'run');
    mkdirSync(join(parent, 'run-notapid'));
    assert.deepEqual(sweepDeadFolders(parent).sort(), [`linsock-vm-${dead}-abc`, `run-${dead}-abc`]);
    assert.ok(existsSync(mine));
    assert.ok(existsSync(join(parent, 'run-notapid')));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
