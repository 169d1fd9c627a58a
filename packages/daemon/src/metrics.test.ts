import { afterEach, describe, expect, it } from 'vitest';
import { MetricsServer, parseMetricsListen, type MetricsSource } from './metrics.js';

/** A daemon's shape as the endpoint reads it: DHCP, one VRRP instance, one relationship, a failed store. */
function fakeDaemon(): MetricsSource & { vrrpState: string } {
  const d = {
    vrrpState: 'MASTER',
    dhcp: {
      counters: {
        toJSON: () => ({ 'drop.overload': 3, 'drop.store-failed': 2, 'packets-received': 40 }),
      },
      coreCounters: () => ({
        'rx.DHCPDISCOVER': 10,
        'rx.DHCPREQUEST': 7,
        'tx.DHCPOFFER': 9,
        'tx.DHCPACK': 6,
      }),
      table: { stateCounts: () => ({ active: 5, free: 250 }) },
      status: () => ({ serving: false }),
    },
    vrrp: {
      status: () => [
        {
          name: 'VI_1',
          interface: 'eth0',
          vrid: 51,
          state: d.vrrpState as 'MASTER',
          configuredPriority: 100,
          effectivePriority: 90,
          advertsSent: 1234,
          advertsReceived: 2,
          drops: { 'bad-ttl': 4 },
          vips: ['192.0.2.1'],
        },
      ],
    },
    failover: {
      status: () => [
        {
          name: 'dhcp-failover',
          state: 'communications-interrupted',
          partnerState: 'normal',
          connected: false,
          updates: { queued: 17, unacked: 4, requestsOpen: 0, lazy: false },
          pool: { total: 254, free: 120, backup: 110 },
          counters: {
            'in.BNDACK': 50,
            'out.BNDUPD': 54,
            'bndupd.acked': 50,
            'bndupd.rejected.unknown-ip': 1,
          },
        },
      ],
    },
    store: {
      stats: () => ({ failed: 'ENOSPC', leases: 255, journalBytes: 4096, commits: 60, recoveries: 1 }),
    },
  };
  return d;
}

/** The sample lines of an exposition, comments left out. */
function samples(text: string): Set<string> {
  return new Set(text.split('\n').filter((l) => l && !l.startsWith('#')));
}

describe('metrics endpoint', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the daemon status and counters at /metrics, read at each scrape', async () => {
    const d = fakeDaemon();
    server = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, d, { version: '9.9.9', log: console });
    const url = `http://127.0.0.1:${server.address.port}/metrics`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const s = samples(text);
    for (const line of [
      'hadhcp_build_info{version="9.9.9"} 1',
      'hadhcp_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="MASTER"} 1',
      'hadhcp_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="BACKUP"} 0',
      'hadhcp_vrrp_priority{instance="VI_1"} 90',
      'hadhcp_vrrp_configured_priority{instance="VI_1"} 100',
      'hadhcp_vrrp_adverts_sent_total{instance="VI_1"} 1234',
      'hadhcp_vrrp_drops_total{instance="VI_1",reason="bad-ttl"} 4',
      'hadhcp_failover_state{relationship="dhcp-failover",state="communications-interrupted"} 1',
      'hadhcp_failover_state{relationship="dhcp-failover",state="normal"} 0',
      'hadhcp_failover_partner_state{relationship="dhcp-failover",state="normal"} 1',
      'hadhcp_failover_connected{relationship="dhcp-failover"} 0',
      'hadhcp_failover_updates_queued{relationship="dhcp-failover"} 17',
      'hadhcp_failover_updates_unacked{relationship="dhcp-failover"} 4',
      'hadhcp_failover_pool_addresses{relationship="dhcp-failover",kind="backup"} 110',
      'hadhcp_failover_messages_total{relationship="dhcp-failover",direction="out",type="BNDUPD"} 54',
      'hadhcp_failover_messages_total{relationship="dhcp-failover",direction="in",type="BNDACK"} 50',
      'hadhcp_failover_events_total{relationship="dhcp-failover",event="bndupd.rejected.unknown-ip"} 1',
      'hadhcp_leases{state="active"} 5',
      'hadhcp_leases{state="free"} 250',
      'hadhcp_leases{state="abandoned"} 0',
      'hadhcp_dhcp_serving 0',
      'hadhcp_dhcp_requests_received_total{type="DHCPDISCOVER"} 10',
      'hadhcp_dhcp_replies_sent_total{type="DHCPACK"} 6',
      'hadhcp_dhcp_drops_total{reason="overload"} 3',
      'hadhcp_dhcp_events_total{event="packets-received"} 40',
      'hadhcp_store_writable 0',
      'hadhcp_store_records 255',
      'hadhcp_store_recoveries_total 1',
    ])
      expect(s, line).toContain(line);
    expect(text).toMatch(/^# TYPE hadhcp_dhcp_drops_total counter$/m);
    expect(text).toMatch(/^# TYPE hadhcp_vrrp_state gauge$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

    // Values are read when scraped, not when the endpoint started.
    d.vrrpState = 'BACKUP';
    const again = samples(await (await fetch(url)).text());
    expect(again).toContain('hadhcp_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="BACKUP"} 1');
    expect(again).toContain('hadhcp_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="MASTER"} 0');
  });

  it('shows only what runs: a VRRP-only daemon has no DHCP, failover or store samples', async () => {
    const { vrrp } = fakeDaemon();
    server = await MetricsServer.start(
      { host: '127.0.0.1', port: 0 },
      { vrrp },
      { version: '1', log: console },
    );
    const text = await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text();
    const names = [...samples(text)].map((l) => l.split(/[{ ]/)[0]);
    expect(names).toContain('hadhcp_vrrp_priority');
    expect(names.filter((n) => /^hadhcp_(dhcp|leases|failover|store)_?/.test(n!))).toEqual([]);
  });

  it('answers 404 off /metrics and 405 to other methods', async () => {
    server = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, {}, { version: '1', log: console });
    const base = `http://127.0.0.1:${server.address.port}`;
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('refuses to start on an address already taken, saying which', async () => {
    server = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, {}, { version: '1', log: console });
    const port = server.address.port;
    await expect(
      MetricsServer.start({ host: '127.0.0.1', port }, {}, { version: '1', log: console }),
    ).rejects.toThrow(`metrics: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});

describe('parseMetricsListen', () => {
  it('takes IPv4:port and [IPv6]:port', () => {
    expect(parseMetricsListen('127.0.0.1:9647')).toEqual({ host: '127.0.0.1', port: 9647 });
    expect(parseMetricsListen('[::1]:9647')).toEqual({ host: '::1', port: 9647 });
    expect(parseMetricsListen('0.0.0.0:1')).toEqual({ host: '0.0.0.0', port: 1 });
  });

  it('refuses anything else with a message naming the option and an example', () => {
    for (const bad of [
      '9647',
      '127.0.0.1',
      'localhost:9647',
      '::1:9647',
      '127.0.0.1:',
      '1.2.3.4:x',
      '300.1.1.1:9',
    ]) {
      expect(parseMetricsListen(bad)).toMatch(
        /^--metrics-listen '.*': expected ADDRESS:PORT .*127\.0\.0\.1:9647/,
      );
    }
    expect(parseMetricsListen('127.0.0.1:0')).toBe(
      "--metrics-listen '127.0.0.1:0': port 0 is not from 1 to 65535",
    );
    expect(parseMetricsListen('127.0.0.1:65536')).toMatch(/port 65536 is not from 1 to 65535/);
  });
});
