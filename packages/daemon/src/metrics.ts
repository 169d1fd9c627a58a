import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { SERVER_STATE_NAMES, type FailoverPeerStatus } from '@hadhcp/failover';
import { BINDING_STATE_NAMES, type LeaseStoreStats } from '@hadhcp/leases';
import type { InstanceStatus } from '@hadhcp/vrrp';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

/**
 * prom-client, loaded when a registry is first built: only a daemon with a metrics listen address needs it, and
 * loading it (with its OpenTelemetry dependency) cost every daemon start and every CLI command ~45 ms.
 */
let promClient: typeof PromClient | undefined;
function prom(): typeof PromClient {
  return (promClient ??= createRequire(import.meta.url)('prom-client') as typeof PromClient);
}

/**
 * What the endpoint reads of the daemon, at scrape time only (the Daemon has this shape; tests pass a fake).
 * Nothing here is touched per packet: every value is one the control socket's status and statistics show.
 */
export interface MetricsSource {
  readonly dhcp?:
    | {
        readonly counters: { toJSON(): Record<string, number> };
        coreCounters(): Record<string, number>;
        readonly table: { stateCounts(): Record<string, number> };
        status(): { serving?: unknown };
      }
    | undefined;
  readonly vrrp?:
    | {
        status(): Array<
          Pick<
            InstanceStatus,
            | 'name'
            | 'interface'
            | 'vrid'
            | 'state'
            | 'configuredPriority'
            | 'effectivePriority'
            | 'advertsSent'
            | 'advertsReceived'
            | 'drops'
            | 'vips'
          >
        >;
      }
    | undefined;
  readonly failover?:
    | {
        status(): Array<
          Pick<
            FailoverPeerStatus,
            'name' | 'state' | 'partnerState' | 'connected' | 'updates' | 'pool' | 'counters'
          >
        >;
      }
    | undefined;
  readonly store?:
    | { stats(): Pick<LeaseStoreStats, 'failed' | 'leases' | 'journalBytes' | 'commits' | 'recoveries'> }
    | undefined;
}

export interface MetricsListen {
  host: string;
  port: number;
}

/**
 * `--metrics-listen ADDRESS:PORT`: an IPv4 address or a bracketed IPv6 one, and a port from 1 to 65535.
 * Returns the address, or the message to refuse it with.
 */
export function parseMetricsListen(text: string): MetricsListen | string {
  const bad = `--metrics-listen '${text}': expected ADDRESS:PORT with an IP address, e.g. 127.0.0.1:9647 or [::1]:9647`;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return bad;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (m[1] !== undefined ? !isIPv6(host) : !isIPv4(host)) return `${bad} ('${host}' is not one)`;
  if (port < 1 || port > 65535) return `--metrics-listen '${text}': port ${port} is not from 1 to 65535`;
  return { host, port };
}

type Labels = Record<string, string | number>;
type Fill = (put: (labels: Labels, value: number) => void) => void;

/**
 * The registry behind /metrics: one per endpoint (no global registry), each metric filled by its collect() from
 * the daemon's status when Prometheus scrapes. Counters are the daemon's own counts, copied: they restart from 0
 * when the process (or, for VRRP, a reconfigured instance set) restarts, which Prometheus' rate() handles as a
 * counter reset.
 */
export function buildRegistry(src: MetricsSource, version: string): Registry {
  const { collectDefaultMetrics, Counter, Gauge, Registry } = prom();
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[], fill: Fill) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((l, v) => this.set(l, v));
      },
    });
  const counter = (name: string, help: string, labelNames: string[], fill: Fill) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((l, v) => this.inc(l, v));
      },
    });

  gauge('hadhcp_build_info', 'hadhcp version, always 1', ['version'], (put) => put({ version }, 1));

  // --- VRRP -------------------------------------------------------------------------------------------------
  const vrrp = () => src.vrrp?.status() ?? [];
  const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];
  gauge(
    'hadhcp_vrrp_state',
    'VRRP instance state: 1 for the state the instance is in, 0 for the others',
    ['instance', 'interface', 'vrid', 'state'],
    (put) => {
      for (const i of vrrp())
        for (const state of VRRP_STATES)
          put({ instance: i.name, interface: i.interface, vrid: i.vrid, state }, i.state === state ? 1 : 0);
    },
  );
  gauge(
    'hadhcp_vrrp_priority',
    'VRRP priority in adverts now (tracking and weights applied)',
    ['instance'],
    (put) => {
      for (const i of vrrp()) put({ instance: i.name }, i.effectivePriority);
    },
  );
  gauge(
    'hadhcp_vrrp_configured_priority',
    'VRRP priority as keepalived.conf sets it',
    ['instance'],
    (put) => {
      for (const i of vrrp()) put({ instance: i.name }, i.configuredPriority);
    },
  );
  gauge('hadhcp_vrrp_vips', 'Virtual addresses this node holds', ['instance'], (put) => {
    for (const i of vrrp()) put({ instance: i.name }, i.vips.length);
  });
  counter('hadhcp_vrrp_adverts_sent_total', 'VRRP adverts sent', ['instance'], (put) => {
    for (const i of vrrp()) put({ instance: i.name }, i.advertsSent);
  });
  counter('hadhcp_vrrp_adverts_received_total', 'VRRP adverts received and accepted', ['instance'], (put) => {
    for (const i of vrrp()) put({ instance: i.name }, i.advertsReceived);
  });
  counter('hadhcp_vrrp_drops_total', 'VRRP packets dropped, by reason', ['instance', 'reason'], (put) => {
    for (const i of vrrp())
      for (const [reason, v] of Object.entries(i.drops)) put({ instance: i.name, reason }, v);
  });

  // --- Failover -----------------------------------------------------------------------------------------------
  const failover = () => src.failover?.status() ?? [];
  const FAILOVER_STATES = Object.values(SERVER_STATE_NAMES);
  const stateSet = (put: (l: Labels, v: number) => void, relationship: string, now: string) => {
    for (const state of FAILOVER_STATES) put({ relationship, state }, state === now ? 1 : 0);
    if (!FAILOVER_STATES.includes(now)) put({ relationship, state: now }, 1);
  };
  gauge(
    'hadhcp_failover_state',
    "This server's failover state (ISC's names): 1 for the current one",
    ['relationship', 'state'],
    (put) => {
      for (const f of failover()) stateSet(put, f.name, f.state);
    },
  );
  gauge(
    'hadhcp_failover_partner_state',
    "The partner's failover state as last heard (ISC's names): 1 for the current one",
    ['relationship', 'state'],
    (put) => {
      for (const f of failover()) stateSet(put, f.name, f.partnerState);
    },
  );
  gauge(
    'hadhcp_failover_connected',
    '1 while the failover link to the partner is up',
    ['relationship'],
    (put) => {
      for (const f of failover()) put({ relationship: f.name }, f.connected ? 1 : 0);
    },
  );
  gauge('hadhcp_failover_updates_queued', 'Binding updates waiting to be sent', ['relationship'], (put) => {
    for (const f of failover()) put({ relationship: f.name }, f.updates.queued);
  });
  gauge(
    'hadhcp_failover_updates_unacked',
    'Binding updates sent and not yet acknowledged (the partner lags by this many)',
    ['relationship'],
    (put) => {
      for (const f of failover()) put({ relationship: f.name }, f.updates.unacked);
    },
  );
  gauge(
    'hadhcp_failover_pool_addresses',
    "The relationship's pool addresses: total, free (the primary's) and backup (the secondary's)",
    ['relationship', 'kind'],
    (put) => {
      for (const f of failover()) {
        if (!f.pool) continue;
        for (const kind of ['total', 'free', 'backup'] as const)
          put({ relationship: f.name, kind }, f.pool[kind]);
      }
    },
  );
  counter(
    'hadhcp_failover_messages_total',
    'Failover messages by direction and type (BNDUPD, BNDACK, ...)',
    ['relationship', 'direction', 'type'],
    (put) => {
      for (const f of failover())
        for (const [k, v] of Object.entries(f.counters)) {
          const m = /^(in|out)\.(.+)$/.exec(k);
          if (m) put({ relationship: f.name, direction: m[1]!, type: m[2]! }, v);
        }
    },
  );
  counter(
    'hadhcp_failover_events_total',
    "The relationship's other counters (bndupd.acked, bndupd.rejected.*, bndack.*, connections.*, ...)",
    ['relationship', 'event'],
    (put) => {
      for (const f of failover())
        for (const [event, v] of Object.entries(f.counters))
          if (!/^(in|out)\./.test(event)) put({ relationship: f.name, event }, v);
    },
  );

  // --- DHCP ---------------------------------------------------------------------------------------------------
  /** The service's and the core's counters together (the core's drops are left out of coreCounters()). */
  const dhcpCounters = (): Array<[string, number]> =>
    src.dhcp
      ? [...Object.entries(src.dhcp.counters.toJSON()), ...Object.entries(src.dhcp.coreCounters())]
      : [];
  const byPrefix = (prefix: string, label: string): Fill => {
    return (put) => {
      for (const [k, v] of dhcpCounters())
        if (k.startsWith(prefix)) put({ [label]: k.slice(prefix.length) }, v);
    };
  };
  gauge('hadhcp_leases', 'Lease records by binding state', ['state'], (put) => {
    if (!src.dhcp) return;
    const counts = src.dhcp.table.stateCounts();
    for (const state of Object.values(BINDING_STATE_NAMES)) put({ state }, counts[state] ?? 0);
  });
  // Metrics without labels always show a value (prom-client starts them at 0): they exist only when the part runs,
  // so a daemon without DHCP shows no hadhcp_store_writable 0 to alert on.
  if (src.dhcp)
    gauge('hadhcp_dhcp_serving', '1 while the DHCP service may answer clients', [], (put) => {
      if (src.dhcp) put({}, src.dhcp.status().serving === false ? 0 : 1);
    });
  counter(
    'hadhcp_dhcp_requests_received_total',
    'DHCP requests received, by message type',
    ['type'],
    byPrefix('rx.', 'type'),
  );
  counter(
    'hadhcp_dhcp_replies_sent_total',
    'DHCP replies sent, by message type',
    ['type'],
    byPrefix('tx.', 'type'),
  );
  counter(
    'hadhcp_dhcp_drops_total',
    'DHCP packets dropped, by reason',
    ['reason'],
    byPrefix('drop.', 'reason'),
  );
  counter(
    'hadhcp_dhcp_events_total',
    "The DHCP service's other counters (packets-received, ping.*, offers.*, abandoned.*, ...)",
    ['event'],
    (put) => {
      for (const [event, v] of dhcpCounters()) if (!/^(rx|tx|drop)\./.test(event)) put({ event }, v);
    },
  );

  // --- Lease store --------------------------------------------------------------------------------------------
  if (src.store) {
    const store = () => src.store?.stats();
    gauge(
      'hadhcp_store_writable',
      '1 while the lease store accepts writes, 0 while it has failed',
      [],
      (put) => {
        const s = store();
        if (s) put({}, s.failed === undefined ? 1 : 0);
      },
    );
    gauge('hadhcp_store_records', 'Lease records in the store', [], (put) => {
      const s = store();
      if (s) put({}, s.leases);
    });
    gauge('hadhcp_store_journal_bytes', 'Bytes of the journal since the last compaction', [], (put) => {
      const s = store();
      if (s) put({}, s.journalBytes);
    });
    counter('hadhcp_store_commits_total', 'Lease writes made durable', [], (put) => {
      const s = store();
      if (s) put({}, s.commits);
    });
    counter(
      'hadhcp_store_recoveries_total',
      'Times the store recovered by itself from a failure',
      [],
      (put) => {
        const s = store();
        if (s) put({}, s.recoveries);
      },
    );
  }

  // process_* and nodejs_* (memory, CPU, open files, event loop lag). The lag is sampled every 100 ms rather than
  // prom-client's 10 ms: a steady 100 wake-ups a second is not worth it for a graph.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  return registry;
}

/**
 * The opt-in Prometheus endpoint (`hadhcp run --metrics-listen ADDRESS:PORT`): GET /metrics, in Prometheus' text
 * format. It has no authentication: listen on loopback or a management address only.
 */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly registry: Registry,
  ) {}

  static async start(
    listen: MetricsListen,
    src: MetricsSource,
    opts: { version: string; log: Pick<Logger, 'warn'> },
  ): Promise<MetricsServer> {
    const registry = buildRegistry(src, opts.version);
    const server = createServer((req, res) => void answer(req, res, registry, opts.log));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`metrics: cannot listen on ${hostPort(listen)}: ${e.code ?? e.message}`)),
      );
      server.listen(listen.port, listen.host, () => resolve());
    });
    return new MetricsServer(server, registry);
  }

  /** Where it listens (the port the kernel chose when asked for 0). */
  get address(): MetricsListen {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // A scraper's keep-alive connection would hold close() open until it times out.
      this.server.closeAllConnections();
    });
  }
}

function hostPort(l: MetricsListen): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  log: Pick<Logger, 'warn'>,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(path === '/' ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(path === '/' ? 'hadhcp: metrics at /metrics\n' : 'not found: metrics at /metrics\n');
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    log.warn(`metrics: a scrape failed: ${(e as Error).message}`);
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(e as Error).message}\n`);
  }
}
