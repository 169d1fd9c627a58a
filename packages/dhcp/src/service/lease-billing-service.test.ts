import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BindingState, LeaseStore, type Lease } from '@hadhcp/leases';
import { recordingLog } from '../../test-vectors/service-fakes.js';
import type { ClientClass, DhcpServerConfig } from '../core/config.js';
import { ConfigBuilder, ip, text } from '../core/test-helpers.js';
import { DhcpService } from './dhcp-service.js';

const POS = { file: 'test.conf', line: 1, col: 1 };
const klass = (name: string): ClientClass => ({
  name,
  spawn: true,
  match: (c) => c.option('dhcp', 60),
  leaseLimit: 1,
  subclasses: new Map(),
  scope: { params: {}, options: new Map() },
  pos: POS,
});

function conf(classes: ClientClass[]): DhcpServerConfig {
  const b = new ConfigBuilder({ defaultLeaseTime: 600 });
  b.subnet('10.9.0.0/24', { pools: [{ ranges: [['10.9.0.50', '10.9.0.60']] }] });
  const cfg = b.build();
  cfg.classes = classes;
  return cfg;
}

function billed(last: number, className: string): Lease {
  return {
    address: ip(`10.9.0.${last}`),
    state: BindingState.ACTIVE,
    starts: 2_000_000_000 - 600,
    ends: 2_000_000_000,
    tstp: 0,
    tsfp: 0,
    atsfp: 0,
    cltt: 2_000_000_000 - 600,
    hwType: 1,
    hwAddr: Uint8Array.of(2, 0, 0, 0, 0, last),
    billing: { className, subclass: text(`cm-${last}`) },
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('DhcpService start over billed leases', () => {
  it('warns once per class the configuration no longer has, on start and on a reload that removes one, not on a rebuild', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hadhcp-svc-billing-'));
    dirs.push(dir);
    const store = await LeaseStore.open(dir, { log: () => undefined });
    await store.write([billed(50, 'modem'), billed(51, 'gone'), billed(52, 'gone')]);
    const logged = recordingLog();
    const svc = new DhcpService(conf([klass('modem')]), store, { log: logged.log });
    const warnings = () => logged.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings()).toEqual([
      'lease limit: 2 active leases billed to a subclass of class "gone", which the configuration no longer has: billing dropped',
    ]);
    // Failover joining (or leaving) rebuilds the core over the same configuration: nothing new to say.
    svc.setFailover(undefined, undefined);
    expect(warnings()).toHaveLength(1);
    svc.reconfigure(conf([klass('other')]));
    expect(warnings().slice(1).sort()).toEqual([
      'lease limit: 1 active lease billed to a subclass of class "modem", which the configuration no longer has: billing dropped',
      'lease limit: 2 active leases billed to a subclass of class "gone", which the configuration no longer has: billing dropped',
    ]);
    await store.close();
  });
});
