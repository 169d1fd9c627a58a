import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseIp4, type Ip4 } from '@hadhcp/common';
import type { DhcpService } from '@hadhcp/dhcp';
import type { FailoverPeerService, LinkChange, PersistedFailoverState } from '@hadhcp/failover';
import { UNHEALTHY_WEIGHT } from '@hadhcp/supervisor';
import { RecordedStateStore } from './failover-runner.js';
import type { Logger } from './logger.js';
import { Supervisor } from './supervise.js';
import type { VrrpRunner } from './vrrp-runner.js';

/* The daemon's Supervisor: the signals gathered and the decisions carried out, with fakes for the three parts. */

const VIP = parseIp4('10.0.0.10')!;
const STARTUP = 1;
const NORMAL = 2;
const COMM_INT = 3;
const PARTNER_DOWN = 4;
const RECOVER_DONE = 9;

const record = (my: number, partner: number): PersistedFailoverState => ({
  my,
  mySince: 0,
  partner,
  partnerSince: 0,
  mclt: 3600,
});

/** A state store whose writes finish when the test says (`flush`), or fail (`refuse`). */
function slowStore(first?: PersistedFailoverState) {
  const pending: { rec: PersistedFailoverState; done: () => void; fail: (e: Error) => void }[] = [];
  const inner = {
    load: async () => first,
    write: (rec: PersistedFailoverState) =>
      new Promise<void>((done, fail) => pending.push({ rec, done, fail })),
  };
  return {
    store: new RecordedStateStore(inner),
    flush: async () => {
      for (const p of pending.splice(0)) p.done();
      await new Promise((r) => setImmediate(r));
    },
    refuse: async () => {
      for (const p of pending.splice(0)) p.fail(new Error('ENOSPC'));
      await new Promise((r) => setImmediate(r));
    },
  };
}

function fakes(recorded?: RecordedStateStore) {
  const gate: Array<[boolean, string, boolean]> = [];
  const weights: number[] = [];
  const gone: string[] = [];
  let master: ((vips: Ip4[]) => void) | undefined;
  let health: ((ok: boolean, why: string) => void) | undefined;
  let adverts = 0;
  let vrrpState = 'BACKUP';
  const dhcp = {
    setPreferredServerIds: vi.fn(),
    setServing: (s: boolean, r: string, direct: boolean) => gate.push([s, r, direct]),
    onHealth: (l: (ok: boolean, why: string) => void) => (health = l),
  } as unknown as DhcpService;
  const vrrp = {
    onMaster: (l: (vips: Ip4[]) => void) => (master = l),
    setExternalWeight: (w: number) => weights.push(w),
    status: () => [{ state: vrrpState, advertsReceived: adverts }],
    peerGone: (r: string) => gone.push(r),
  } as unknown as VrrpRunner;
  const fo = Object.assign(new EventEmitter(), {
    settings: { name: 'fo' },
    machine: { my: NORMAL, partner: NORMAL, connected: true, serve: 'all' as string },
    partnerDown: vi.fn(async () => {
      fo.machine.my = PARTNER_DOWN;
      return 'partner-down';
    }),
  });
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() } as unknown as Logger;
  let t = 1_000_000;
  const sup = new Supervisor({
    dhcp,
    vrrp,
    failover: fo as unknown as FailoverPeerService,
    recorded,
    log,
    masterDownMs: 3_600,
    partnerDownAfterMs: 2_000,
    now: () => t,
  });
  return {
    sup,
    fo,
    gate,
    weights,
    gone,
    becomeMaster: () => {
      vrrpState = 'MASTER';
      master!([VIP]);
    },
    storeFails: () => health!(false, 'lease store failed: ENOSPC'),
    advert: () => adverts++,
    advance: (ms: number) => (t += ms),
    poll: () => (sup as unknown as { poll(): void }).poll(),
    link: (e: Partial<LinkChange>) =>
      fo.emit('link', { relationship: 'fo', up: false, remote: '10.0.0.3:647', direction: 'out', ...e }),
  };
}

afterEach(() => vi.restoreAllMocks());

describe('Supervisor', () => {
  it('a backup answers no relayed client; once its VIP is bound it answers every one, VIP as server id', () => {
    const f = fakes();
    f.sup.start();
    expect(f.gate.at(-1)!.slice(0, 1)).toEqual([false]);
    f.becomeMaster();
    expect(f.gate.at(-1)![0]).toBe(true);
    expect(f.sup.answerAllRelayed()).toBe(true);
    expect(f.sup.decision?.serverId).toBe(VIP);
    f.sup.stop();
  });

  it('a failed store lowers the VRRP priority; the death notice tells VRRP the peer is gone', () => {
    const f = fakes();
    f.sup.start();
    f.storeFails();
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT);
    f.fo.machine.connected = false;
    f.link({ why: 'closed' });
    expect(f.gone).toEqual(['failover link to 10.0.0.3:647 closed']);
    f.link({ why: 'timeout' });
    expect(f.gone).toHaveLength(1);
    f.sup.stop();
  });

  it('partner-down only once the failover link is down AND no advert was heard, for the safety delay', async () => {
    const f = fakes();
    f.sup.start();
    f.becomeMaster();
    Object.assign(f.fo.machine, { my: COMM_INT, connected: false, serve: 'own' });
    f.advert();
    f.poll();
    f.advance(3_000);
    f.poll();
    expect(f.fo.partnerDown).not.toHaveBeenCalled(); // adverts heard 3 s ago: VRRP says the peer lives
    f.advance(700);
    f.poll(); // 3.7 s without an advert: both signals agree from now
    f.advance(1_999);
    f.poll();
    expect(f.fo.partnerDown).not.toHaveBeenCalled();
    f.advance(1);
    f.poll();
    expect(f.fo.partnerDown).toHaveBeenCalledTimes(1);
    await Promise.resolve();
    f.advance(250);
    f.poll();
    expect(f.fo.partnerDown).toHaveBeenCalledTimes(1);
    f.sup.stop();
  });

  it('handover: refused unless the peer is in sync; then the priority drops while this node still answers', () => {
    const f = fakes();
    f.sup.start();
    f.becomeMaster();
    f.fo.machine.partner = COMM_INT;
    expect(f.sup.handover()).toMatchObject({ ok: false, text: expect.stringMatching(/must be in normal/) });
    f.fo.machine.partner = NORMAL;
    // A master hears no adverts from its backup: failover normal and connected is the peer's sign of life.
    f.advance(10_000);
    f.poll();
    expect(f.sup.handover().ok).toBe(true);
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT);
    expect(f.gate.at(-1)![0]).toBe(true); // still answering until the VIP has moved
    f.sup.handover(true);
    expect(f.weights.at(-1)).toBe(0);
    f.sup.stop();
  });

  it('acts on the failover state once it is on disk, not when the machine enters it', async () => {
    const disk = slowStore(record(RECOVER_DONE, NORMAL));
    await disk.store.load();
    const f = fakes(disk.store);
    Object.assign(f.fo.machine, { my: STARTUP, partner: NORMAL, serve: 'none' });
    f.sup.start();
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT); // startup (never recorded) serves nobody
    // Back to the recorded recover-done, then normal: the machine shows normal while its record is written.
    Object.assign(f.fo.machine, { my: RECOVER_DONE, serve: 'none' });
    f.poll();
    Object.assign(f.fo.machine, { my: NORMAL, serve: 'all' });
    const refused = disk.store.write(record(NORMAL, NORMAL)).then(
      () => 'written',
      (e: Error) => e.message,
    );
    f.poll();
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT);
    expect(f.sup.decision?.reason).toMatch(/recover-done/);
    // A refused write: ISC's set_state takes the state back; the supervisor never left recover-done.
    await disk.refuse();
    expect(await refused).toBe('ENOSPC');
    Object.assign(f.fo.machine, { my: RECOVER_DONE, serve: 'none' });
    f.poll();
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT);
    // Written this time: the priority comes back as soon as the record is on disk, no poll needed.
    Object.assign(f.fo.machine, { my: NORMAL, serve: 'all' });
    void disk.store.write(record(NORMAL, NORMAL));
    expect(f.weights.at(-1)).toBe(UNHEALTHY_WEIGHT);
    await disk.flush();
    expect(f.weights.at(-1)).toBe(0);
    expect(f.sup.decision?.reason).toMatch(/failover fo: normal, partner normal/);
    f.sup.stop();
  });
});

describe('RecordedStateStore', () => {
  it('keeps the record read back, then each one written, never one whose write failed', async () => {
    const disk = slowStore(record(NORMAL, NORMAL));
    const heard: number[] = [];
    disk.store.onRecorded(() => heard.push(disk.store.last!.my));
    expect(disk.store.last).toBeUndefined();
    await disk.store.load();
    expect(disk.store.last?.my).toBe(NORMAL);
    const failed = disk.store.write(record(COMM_INT, NORMAL)).then(
      () => 'written',
      (e: Error) => e.message,
    );
    await disk.refuse();
    expect(await failed).toBe('ENOSPC');
    expect(disk.store.last?.my).toBe(NORMAL);
    const written = disk.store.write(record(PARTNER_DOWN, COMM_INT));
    expect(disk.store.last?.my).toBe(NORMAL); // not before the write has finished
    await disk.flush();
    await written;
    expect(disk.store.last?.my).toBe(PARTNER_DOWN);
    expect(heard).toEqual([PARTNER_DOWN]);
  });
});
