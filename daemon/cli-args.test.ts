import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { defaultWorkers, parseArgs, parseBytes } from './cli-args';
import { resolveLimits } from './limits';
import { parseHostPort } from './channel/guest-listener';

describe('linsockd arguments', () => {
  it('parses the DESIGN.md flags, limits with byte suffixes, and --flag=value', () => {
    const a = parseArgs(['--guest-socket', '/tmp/g.sock', '--trace-host', '127.0.0.1', '--trace-port=0', '--token-file', '/tmp/t', '--config', 'c.json',
      '--trace', 'off', '--max-sockets', '10', '--max-buffer-per-socket', '64K', '--max-buffer-per-guest', '8M', '--max-frame', '65536', '--guest-tcp', '7718']);
    assert.equal(a.guestSocket, '/tmp/g.sock');
    assert.equal(a.tracePort, 0);
    assert.equal(a.trace, false);
    assert.deepEqual(a.limits, { maxSockets: 10, maxBufferPerSocket: 65536, maxBufferPerGuest: 8 * 1024 * 1024, maxFrame: 65536 });
    assert.equal(a.guestTcp, '7718');
    assert.equal(a.shortcut, true);
    assert.equal(parseArgs(['--shortcut', 'off']).shortcut, false);
    assert.equal(a.busyPollUs, undefined);
    assert.equal(parseArgs(['--busy-poll-us', '0']).busyPollUs, 0);
  });

  it('explains what is wrong', () => {
    assert.throws(() => parseArgs(['--trace', 'maybe']), /--trace expects on or off/);
    assert.throws(() => parseArgs(['--shortcut', 'yes']), /--shortcut expects on or off/);
    assert.throws(() => parseArgs(['--bogus']), /unknown option '--bogus'/);
    assert.throws(() => parseArgs(['--busy-poll-us', '-5']), /--busy-poll-us expects microseconds 0\.\.10000/);
    assert.throws(() => parseArgs(['--busy-poll-us', '20000']), /--busy-poll-us expects microseconds/);
    assert.throws(() => parseArgs(['--trace-port']), /--trace-port expects a value/);
    assert.throws(() => parseBytes('12Q', '--max-frame'), /byte count like/);
    assert.throws(() => resolveLimits({ maxFrame: 100 }), /maxFrame must be between/);
    assert.throws(() => resolveLimits({ maxSockets: -1 }), /maxSockets must be a positive integer/);
  });

  it('keeps repeated flags in order, and refuses stray words and values on switches', () => {
    const a = parseArgs(['--allowed-origin', 'https://a', '--allow-remote', '--allowed-origin=https://b', '-h', '--log-level', 'debug']);
    assert.deepEqual(a.allowedOrigins, ['https://a', 'https://b']);
    assert.equal(a.allowRemote, true);
    assert.equal(a.help, true);
    assert.equal(a.logLevel, 'debug');
    assert.throws(() => parseArgs(['stray']), /unknown option 'stray'/);
    assert.throws(() => parseArgs(['--allow-remote=yes']), /--allow-remote takes no value/);
    assert.throws(() => parseArgs(['--log-level', 'loud']), /--log-level expects one of debug, info, warn, error, got 'loud'/);
    assert.throws(() => parseArgs(['--max-sockets', '0']), /--max-sockets expects an integer of at least 1, got '0'/);
  });

  it('takes --workers 1..256; by default one per core less one for the main process, 1 on 2 cores or fewer', () => {
    assert.equal(parseArgs([]).workers, defaultWorkers(availableParallelism()));
    assert.deepEqual([1, 2, 3, 4, 16].map((cores) => defaultWorkers(cores)), [1, 1, 2, 3, 15]);
    assert.equal(parseArgs(['--workers', '1']).workers, 1);
    assert.equal(parseArgs(['--workers=3']).workers, 3);
    assert.throws(() => parseArgs(['--workers', '0']), /--workers expects an integer of at least 1, got '0'/);
    assert.throws(() => parseArgs(['--workers', '257']), /--workers expects at most 256 worker processes, got '257'/);
    assert.throws(() => parseArgs(['--workers', 'all']), /--workers expects an integer/);
  });

  it('reads guest TCP addresses, loopback by default', () => {
    assert.deepEqual(parseHostPort('7718'), { host: '127.0.0.1', port: 7718 });
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('127.0.0.1:9'), { host: '127.0.0.1', port: 9 });
    assert.throws(() => parseHostPort('host:99999'), /not HOST:PORT/);
  });
});
