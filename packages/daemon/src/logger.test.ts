import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hadhcp-logger-'));
  const fds: number[] = [];
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => {
    const p = join(dir, name);
    fds.push(openSync(p, 'w'));
    return { fd: fds[fds.length - 1]!, read: () => readFileSync(p, 'utf8') };
  };

  it('JSON: logger.flush() has written every line when it returns', () => {
    const f = file('json.log');
    const log = createLogger({ fd: f.fd, level: 'debug' });
    for (let i = 0; i < 1000; i++) log.debug(`DHCPDISCOVER ${i}`);
    log.error({ err: new Error('boom') }, 'cannot start: boom');
    expect(f.read()).toMatch(/DHCPDISCOVER 1\b/); // every 8 KiB written as it fills...
    expect(f.read()).not.toContain('cannot start'); // ...the rest held for up to 2 ms
    log.flush();
    const out = f
      .read()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(1001);
    expect(out[999].msg).toBe('DHCPDISCOVER 999');
    expect(out[1000]).toMatchObject({ level: 50, msg: 'cannot start: boom', pid: process.pid });
    expect(out[1000].err.stack).toMatch(/^Error: boom\n\s+at /);
  });

  it('--pretty: formatted in the same process and flushed the same way, stack included, no colours in a file', () => {
    const f = file('pretty.log');
    const log = createLogger({ fd: f.fd, pretty: true });
    log.info('hadhcp stopped');
    log.fatal({ err: new Error('boom') }, 'uncaught exception: boom; exiting');
    log.flush();
    const text = f.read();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hadhcp stopped\n/);
    expect(text).toMatch(/FATAL: uncaught exception: boom; exiting\n/);
    expect(text).toMatch(/Error: boom\n\s+at /);
    expect(text).not.toContain('\x1b[');
    expect(text).not.toContain('"pid"');
  });
});
