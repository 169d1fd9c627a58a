import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, formatIp4 } from '@hadhcp/common';
import { BindingState, LeaseStore, type Lease } from '@hadhcp/leases';
import { FakeClient, FakeHost, FakeSegment, recordingLog } from '../../test-vectors/service-fakes.js';
import { clientMsg, ConfigBuilder, ip, mac, MessageType, optIp } from '../core/test-helpers.js';
import { getMessageType } from '../wire/accessors.js';
import type { DhcpMessage } from '../wire/types.js';
import { DhcpService } from './dhcp-service.js';
import type { LeaseCause, LeaseSync } from './lease-writer.js';

/**
 * Two DhcpService instances in one process, each with its own lease store, sockets and core, on one in-memory
 * Ethernet segment (service-fakes.ts), the way two routers share a LAN. As the supervisor runs them beside VRRP:
 * the VIP holder serves, the other stays silent.
 */

const soon = { timeout: 10_000 };
const conf = () => {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
  b.subnet('10.9.0.0/24', { pools: [{ ranges: [['10.9.0.50', '10.9.0.60']] }] });
  return b.build();
};

const dirs: string[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

interface Node {
  svc: DhcpService;
  store: LeaseStore;
  dir: string;
  host: FakeHost;
}

async function node(segment: FakeSegment, n: number, clock: FakeClock, sync?: LeaseSync): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), `hadhcp-node${n}-`));
  dirs.push(dir);
  const store = await LeaseStore.open(dir, { log: () => undefined });
  const host = new FakeHost(segment, `02:00:00:00:00:0${n}`, `10.9.0.${n}/24`);
  const svc = new DhcpService(conf(), store, { log: recordingLog().log, clock, io: host.io, sync });
  await svc.start();
  cleanup.push(async () => {
    await svc.stop();
    await store.close();
  });
  return { svc, store, dir, host };
}

/** A partner hook that remembers what it was told. */
function recordingSync(): LeaseSync & { seen: Array<{ cause: LeaseCause; leases: readonly Lease[] }> } {
  const seen: Array<{ cause: LeaseCause; leases: readonly Lease[] }> = [];
  return {
    seen,
    committed: (leases, cause, released) => {
      seen.push({ cause, leases });
      released();
    },
  };
}

const hex = (c: FakeClient) => [...c.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** DISCOVER, OFFER, REQUEST (to the offering server), ACK; the client then holds the address. */
async function dora(c: FakeClient): Promise<DhcpMessage> {
  c.send(clientMsg(MessageType.DISCOVER, { mac: hex(c), xid: 1 }));
  await expect.poll(() => c.received.length, soon).toBe(1);
  const offer = c.received[0]!;
  expect(getMessageType(offer)).toBe(MessageType.OFFER);
  const serverId = formatIp4(optIp(offer, 54)!);
  c.send(
    clientMsg(MessageType.REQUEST, { mac: hex(c), xid: 2, requested: formatIp4(offer.yiaddr), serverId }),
  );
  await expect.poll(() => c.received.length, soon).toBe(2);
  const ack = c.received[1]!;
  expect(getMessageType(ack)).toBe(MessageType.ACK);
  c.ip = ack.yiaddr;
  return ack;
}

async function leasesOnDisk(n: Node): Promise<Lease[]> {
  await n.svc.stop();
  await n.store.close();
  const again = await LeaseStore.open(n.dir, { log: () => undefined });
  const out = [...again.leases()];
  await again.close();
  return out;
}

describe('two DHCP servers in one process, joined by an in-memory segment', () => {
  it('are independent: the VIP holder serves and stores the lease, its partner hook sees it; the other has none', async () => {
    const segment = new FakeSegment();
    const clock = new FakeClock();
    const sync = recordingSync();
    const a = await node(segment, 1, clock, sync);
    const b = await node(segment, 2, clock);
    a.svc.setServing(true, 'VRRP master: holding the VIP');
    b.svc.setServing(false, 'VRRP backup: the VIP holder answers');
    const client = new FakeClient(segment, mac('02:00:00:00:00:a1'));

    const ack = await dora(client);
    expect(ack.yiaddr).toBe(ip('10.9.0.50'));
    expect(optIp(ack, 54)).toBe(ip('10.9.0.1'));
    // A: the lease, stored before the ACK left, and told to the partner hook once it was on disk.
    expect(a.svc.table.get(ip('10.9.0.50'))).toMatchObject({ state: BindingState.ACTIVE });
    expect(sync.seen).toHaveLength(1);
    expect(sync.seen[0]!.cause).toBe('packet');
    expect(sync.seen[0]!.leases[0]).toMatchObject({ address: ip('10.9.0.50'), state: BindingState.ACTIVE });
    expect(sync.seen[0]!.leases[0]!.hwAddr).toEqual(client.mac);
    // B heard both packets and answered neither; it holds no lease of its own.
    await expect.poll(() => b.svc.counters.toJSON()['drop.not-vip-holder'], soon).toBe(2);
    expect(b.svc.status().leases).toEqual({});
    expect(b.svc.table.get(ip('10.9.0.50'))).toBeUndefined();
    expect(a.svc.status().leases).toEqual({ active: 1 });

    // Without lease sync, B given the VIP would hand the same address to another client: failover's job.
    a.svc.setServing(false, 'VRRP backup');
    b.svc.setServing(true, 'VRRP master');
    const other = new FakeClient(segment, mac('02:00:00:00:00:a2'));
    other.send(clientMsg(MessageType.DISCOVER, { mac: hex(other), xid: 3 }));
    await expect.poll(() => other.received.length, soon).toBe(1);
    expect(other.received[0]!.yiaddr).toBe(ip('10.9.0.50'));

    expect((await leasesOnDisk(a)).map((l) => l.address)).toEqual([ip('10.9.0.50')]);
    expect(await leasesOnDisk(b)).toEqual([]);
  });

  it("joined through the LeaseSync hook, the partner knows the lease: after the VIP moves it offers another address and renews the client's", async () => {
    const segment = new FakeSegment();
    const clock = new FakeClock();
    // A toy partner link: what A commits, B stores (failover will send a BNDUPD here instead).
    let bStore: LeaseStore | undefined;
    const sent: Promise<void>[] = [];
    const a = await node(segment, 1, clock, {
      committed: (ls, _cause, released) => {
        sent.push(bStore!.write(ls));
        released();
      },
    });
    const b = await node(segment, 2, clock);
    bStore = b.store;
    a.svc.setServing(true, 'VRRP master');
    b.svc.setServing(false, 'VRRP backup');
    const client = new FakeClient(segment, mac('02:00:00:00:00:a1'));
    await dora(client);
    await Promise.all(sent);
    expect(b.svc.table.get(ip('10.9.0.50'))).toMatchObject({ state: BindingState.ACTIVE });

    a.svc.setServing(false, 'VRRP backup');
    b.svc.setServing(true, 'VRRP master');
    const other = new FakeClient(segment, mac('02:00:00:00:00:a2'));
    other.send(clientMsg(MessageType.DISCOVER, { mac: hex(other), xid: 3 }));
    await expect.poll(() => other.received.length, soon).toBe(1);
    expect(other.received[0]!.yiaddr).toBe(ip('10.9.0.51'));
    // The first client rebooting (INIT-REBOOT, broadcast) keeps its address, now from B.
    client.send(clientMsg(MessageType.REQUEST, { mac: hex(client), xid: 4, requested: '10.9.0.50' }));
    await expect.poll(() => client.received.length, soon).toBe(3);
    const ack = client.received[2]!;
    expect([getMessageType(ack), ack.yiaddr]).toEqual([MessageType.ACK, ip('10.9.0.50')]);
    expect(optIp(ack, 54)).toBe(ip('10.9.0.2'));
  });
});
