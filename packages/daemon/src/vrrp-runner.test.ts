import { describe, expect, it } from 'vitest';
import type { KeepalivedConfig } from '@hadhcp/vrrp';
import { sameVrrpConfig } from './vrrp-runner.js';

const pos = (line: number) => ({ file: '/etc/hadhcp/keepalived.conf', line, col: 1 });
function conf(priority: number, line: number): KeepalivedConfig {
  return {
    global: {
      enableScriptSecurity: false,
      garpMasterDelay: 5,
      garpMasterRepeat: 5,
      garpMasterRefresh: 0,
      garpMasterRefreshRepeat: 1,
      ignored: [],
    },
    scripts: [],
    syncGroups: [],
    files: ['/etc/hadhcp/keepalived.conf'],
    instances: [
      {
        name: 'VI_1',
        initialState: 'BACKUP',
        interface: 'eth0',
        vrid: 51,
        priority,
        advertInt: 1,
        virtualAddresses: [{ address: 0x0a00000a, prefix: 24, pos: pos(line + 3) }],
        virtualAddressesExcluded: [],
        preempt: true,
        preemptDelay: 0,
        unicastPeers: [],
        trackInterfaces: [],
        trackScripts: [],
        pos: pos(line),
      },
    ],
  };
}

describe('reload of keepalived.conf', () => {
  it('treats a file that only moved statements around as unchanged (no election on SIGHUP)', () => {
    expect(sameVrrpConfig(conf(150, 1), conf(150, 9))).toBe(true);
  });
  it('sees a changed priority as a change', () => {
    expect(sameVrrpConfig(conf(150, 1), conf(100, 1))).toBe(false);
  });
});
