import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { ControlServer, Result, type StatusReport } from '@hadhcp/control';
import type { FailoverPeerStatus } from '@hadhcp/failover';
import type { SupervisorDecision } from '@hadhcp/supervisor';
import { registerCommands, type CommandHost } from './commands.js';
import { EventLog } from './events.js';
import { VERSION } from './load-config.js';
import { peerStatusFixture } from '../../failover/test-vectors/status-fixture.js';

/** A relationship as FailoverPeerService.status() shows it: normal, linked, a few counters. */
function peerStatus(name: string, over: Partial<FailoverPeerStatus> = {}): FailoverPeerStatus {
  return peerStatusFixture(name, { counters: { 'bndupd.acked': 5 }, ...over });
}

/** FailoverPeerService's operator side; partnerDown() follows the machine's rule (ISC's omshell procedure). */
class FakePeer {
  resyncs = 0;
  constructor(public st: FailoverPeerStatus) {}
  status(): FailoverPeerStatus {
    return this.st;
  }
  async partnerDown(): Promise<string> {
    const from = ['communications-interrupted', 'resolution-interrupted'];
    if (!this.st.connected && from.includes(this.st.state))
      this.st = { ...this.st, state: 'partner-down', serve: 'all', reclaimAt: '2026-12-02T15:00:00.000Z' };
    return this.st.state;
  }
  async resync(): Promise<boolean> {
    if (!this.st.connected) return false;
    this.resyncs++;
    return true;
  }
}

/** The daemon as the commands see it: a control server (dispatched in-process, never listening) and a runner. */
function daemon(peers: FakePeer[] | undefined) {
  const control = new ControlServer('/nonexistent/control.sock');
  const failover = peers && {
    status: () => peers.map((p) => p.status()),
    get: (name?: string) =>
      name === undefined
        ? peers.length === 1
          ? peers[0]
          : undefined
        : peers.find((p) => p.st.name === name),
  };
  const d = { control, failover, startedAt: Date.now(), opts: {} } as unknown as CommandHost;
  registerCommands(d);
  return control;
}

const interrupted = (name: string) =>
  new FakePeer(
    peerStatus(name, {
      state: 'communications-interrupted',
      partnerState: 'unknown-state',
      serve: 'own',
      connected: false,
      link: undefined,
    }),
  );

describe('failover control commands', () => {
  it('status-get and failover-status carry each relationship', async () => {
    const c = daemon([new FakePeer(peerStatus('a')), new FakePeer(peerStatus('b'))]);
    const st = await c.dispatch('status-get');
    expect((st.arguments as { failover: FailoverPeerStatus[] }).failover.map((s) => s.name)).toEqual([
      'a',
      'b',
    ]);
    const all = await c.dispatch('failover-status');
    expect(all.result).toBe(Result.SUCCESS);
    expect((all.arguments as { relationships: FailoverPeerStatus[] }).relationships).toHaveLength(2);
    const one = await c.dispatch('failover-status', { relationship: 'b' });
    expect(
      (one.arguments as { relationships: FailoverPeerStatus[] }).relationships.map((s) => s.name),
    ).toEqual(['b']);
  });

  it('puts failover counters in statistic-get-all under failover.NAME.', async () => {
    const c = daemon([new FakePeer(peerStatus('a'))]);
    const s = (await c.dispatch('statistic-get-all')).arguments as Record<string, [[number, string]]>;
    expect(s['failover.a.bndupd.acked']![0]![0]).toBe(5);
  });

  it('refuses when the daemon runs no failover, or the relationship is unknown or not named among several', async () => {
    const none = daemon(undefined);
    for (const cmd of ['failover-status', 'failover-partner-down', 'failover-resync']) {
      const r = await none.dispatch(cmd);
      expect(r.result).toBe(Result.ERROR);
      expect(r.text).toMatch(/failover is not running in this daemon/);
    }
    expect((await none.dispatch('status-get')).arguments).toMatchObject({ failover: undefined });

    const two = daemon([new FakePeer(peerStatus('a')), new FakePeer(peerStatus('b'))]);
    expect((await two.dispatch('failover-resync', { relationship: 'c' })).text).toBe(
      'no failover relationship "c"; known: "a", "b"',
    );
    expect((await two.dispatch('failover-partner-down')).text).toBe(
      'this daemon has several failover relationships: name one of "a", "b"',
    );
    expect((await two.dispatch('failover-status', { relationship: 7 })).text).toBe(
      '"relationship" must be a string',
    );
  });

  it('partner-down from communications-interrupted with the link down: partner-down, and when the leases become ours', async () => {
    const p = interrupted('dhcp-failover');
    const r = await daemon([p]).dispatch('failover-partner-down');
    expect(r.result).toBe(Result.SUCCESS);
    expect(r.text).toBe(
      'failover peer "dhcp-failover": communications-interrupted -> partner-down: serving every client; ' +
        "the partner's expired leases become ours at 2026-12-02T15:00:00.000Z.",
    );
    expect(r.arguments).toEqual({
      relationship: 'dhcp-failover',
      state: 'partner-down',
      was: 'communications-interrupted',
    });
    const again = await daemon([p]).dispatch('failover-partner-down', { relationship: 'dhcp-failover' });
    expect(again.result).toBe(Result.SUCCESS);
    expect(again.text).toBe('failover peer "dhcp-failover" was already in partner-down.');
  });

  it('partner-down refused: says the state it stays in and why (a connected partner is not down; ISC states only)', async () => {
    const linked = await daemon([new FakePeer(peerStatus('a'))]).dispatch('failover-partner-down');
    expect(linked.result).toBe(Result.ERROR);
    expect(linked.text).toBe(
      'failover peer "a" stays in normal: the partner is connected (10.0.0.2:647 <-> 10.0.0.3:40112), so it is ' +
        'not down. Partner-down is taken only from communications-interrupted or resolution-interrupted, with ' +
        "the link to the partner down (ISC's rule).",
    );
    expect(linked.arguments).toEqual({ relationship: 'a', state: 'normal', was: 'normal' });

    const recovering = new FakePeer(peerStatus('a', { state: 'recover', connected: false, link: undefined }));
    const r = await daemon([recovering]).dispatch('failover-partner-down');
    expect(r.result).toBe(Result.ERROR);
    expect(r.text).toMatch(
      /^failover peer "a" stays in recover: this server is in recover\. Partner-down is/,
    );
  });

  it('resync asks the partner only when connected and in normal', async () => {
    const p = new FakePeer(peerStatus('a'));
    const r = await daemon([p]).dispatch('failover-resync');
    expect(r).toEqual({
      result: Result.SUCCESS,
      text: 'failover peer "a": asked the partner for every binding (UPDREQALL).',
      arguments: { relationship: 'a' },
    });
    expect(p.resyncs).toBe(1);

    const down = await daemon([interrupted('a')]).dispatch('failover-resync');
    expect(down.result).toBe(Result.ERROR);
    expect(down.text).toBe(
      'failover peer "a" is not connected to its partner (state communications-interrupted): nothing to ask.',
    );
    const recovering = new FakePeer(peerStatus('a', { state: 'recover-wait' }));
    const rw = await daemon([recovering]).dispatch('failover-resync');
    expect(rw.text).toBe('failover peer "a" is in recover-wait: a resync is asked only in normal.');
    expect(recovering.resyncs).toBe(0);
  });
});

describe('status-get', () => {
  it('is the StatusReport: the supervisor decision with its server id as an address, the events, the handover noted', async () => {
    const control = new ControlServer('/nonexistent/control.sock');
    const events = new EventLog();
    const decision: SupervisorDecision = {
      serveRelayed: true,
      answerAllRelayed: true,
      serveDirect: true,
      serverId: parseIp4('10.0.0.1')!,
      vrrpWeight: 0,
      partnerDown: false,
      reason: 'VRRP master holding 10.0.0.1: answering every relayed client at once',
      health: 'able to serve',
    };
    const supervisor = {
      decision,
      handover: (cancel?: boolean) => ({ ok: true, text: cancel ? 'handover cancelled' : 'handing over' }),
    };
    const host = { control, events, supervisor, startedAt: Date.now() - 5000, opts: {} };
    registerCommands(host as unknown as CommandHost);
    events.add('daemon', 'hadhcp 0.1.0 started');
    expect((await control.dispatch('ha-maintenance-start')).result).toBe(Result.SUCCESS);
    const st = (await control.dispatch('status-get')).arguments as StatusReport;
    expect(st).toMatchObject({ pid: process.pid, version: VERSION, uptime: 5 });
    expect(st.supervisor).toEqual({ ...decision, serverId: '10.0.0.1' });
    expect(st.events!.map((e) => [e.kind, e.text, e.alarm])).toEqual([
      ['daemon', 'hadhcp 0.1.0 started', undefined],
      ['handover', 'handover asked by the operator: handing over', true],
    ]);
  });
});
