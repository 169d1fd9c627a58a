import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCheckConfig } from './check-config.js';

const dir = mkdtempSync(join(tmpdir(), 'hadhcp-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const instance = (extra: string) => `vrrp_instance VI_1 {
    state MASTER
    interface lo
    virtual_router_id 51
    priority 150
${extra}
    virtual_ipaddress {
        10.77.0.10/24
    }
}
`;

describe('hadhcp check-config exit codes for keepalived.conf', () => {
  let err: string[];
  beforeEach(() => {
    err = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void err.push(m));
  });
  afterEach(() => vi.restoreAllMocks());

  it('0 with warnings only (hadhcp.service runs it before each start: a warning must not stop the router)', () => {
    const f = join(dir, 'warn.conf');
    writeFileSync(f, instance('    nopreempt'));
    expect(runCheckConfig({ keepalived: f })).toBe(0);
    expect(err.join('\n')).toMatch(/warning: nopreempt does not work with state MASTER/);
    expect(err.at(-1)).toBe('configuration OK (1 warning)');
  });

  it('4 with an error, 3 when the file is missing', () => {
    const f = join(dir, 'error.conf');
    writeFileSync(f, instance('    advert_int 0'));
    expect(runCheckConfig({ keepalived: f })).toBe(4);
    expect(runCheckConfig({ keepalived: join(dir, 'missing.conf') })).toBe(3);
  });
});
