// One FailoverPeerService over real TCP, as a process of its own, for the failover labs: run inside a namespace as
//   ip netns exec <ns> node --import tsx test/lab/lib/failover-node.ts '<json FailoverNodeConfig>'
// (tsx from the repository root: start it with cwd = REPO_ROOT). It prints one JSON object per line on stdout
// (state changes, link changes, serve changes, each BNDUPD recorded, its log lines) and its status on SIGUSR1;
// SIGTERM stops it (links closed, state kept), SIGINT too. Not the daemon: the daemon's wiring comes later.
import { parseIp4, systemClock } from '../../../packages/common/src/index.js';
import {
  BINDING_STATUS_NAMES,
  FailoverPeerService,
  FileStateStore,
  MemoryLeaseBook,
  splitToHba,
  TcpPeerTransport,
  type BindingStatus,
  type FailoverLogger,
} from '../../../packages/failover/src/index.js';

export interface FailoverNodeConfig {
  name: string;
  role: 'primary' | 'secondary';
  address: string;
  port?: number;
  peerAddress: string;
  peerPort?: number;
  maxResponseDelay: number;
  maxUnackedUpdates: number;
  mclt?: number;
  split?: number;
  /** The state record (FileStateStore); absent: a fresh one, so the relationship starts in recover. */
  stateFile: string;
  /** The relationship's pool (first and last address), as in the peer's dhcpd.conf. */
  range: [string, string];
}

/** A line the node printed: `type` says which (log, state, link, serve, bndupd, status, started). */
export type FailoverNodeLine = { type: string; t: number } & Record<string, unknown>;

function out(type: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ type, t: Date.now(), ...fields })}\n`);
}

function ipOf(s: string): number {
  const v = parseIp4(s);
  if (v === undefined) throw new Error(`not an IPv4 address: ${s}`);
  return v;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '{}') as FailoverNodeConfig;
  const at =
    (level: 'info' | 'warn' | 'error' | 'debug') =>
    (msg: string): void =>
      out('log', { level, msg });
  const log: Required<FailoverLogger> = {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
  };
  const settings = {
    name: c.name,
    role: c.role,
    address: ipOf(c.address),
    port: c.port ?? 647,
    peerAddress: ipOf(c.peerAddress),
    peerPort: c.peerPort ?? 647,
    maxResponseDelay: c.maxResponseDelay,
    maxUnackedUpdates: c.maxUnackedUpdates,
    mclt: c.mclt,
    hba: c.split === undefined ? undefined : splitToHba(c.split),
    autoPartnerDown: 0,
  };
  // The leases live in memory here (no DHCP service): every restart is a recover with UPDREQALL, as ISC's is
  // after a graceful stop.
  const leases = new MemoryLeaseBook([{ start: ipOf(c.range[0]), end: ipOf(c.range[1]) }]);
  const svc = new FailoverPeerService(settings, {
    log,
    transport: new TcpPeerTransport({
      address: settings.address,
      port: settings.port,
      peerAddress: settings.peerAddress,
      peerPort: settings.peerPort,
      log,
      label: `failover peer ${c.name}`,
    }),
    store: new FileStateStore(c.stateFile, c.name),
    leases,
    clock: systemClock,
    vendorClass: 'hadhcp-lab',
  });
  svc.on('state', (e) => out('state', { ...e }));
  svc.on('link', (e) => out('link', { ...e }));
  svc.on('serve', (e) => out('serve', { ...e }));
  const dotted = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
  svc.on('update', (e) =>
    out('bndupd', {
      ip: e.ip === undefined ? undefined : dotted(e.ip),
      status: BINDING_STATUS_NAMES[e.status as BindingStatus] ?? e.status,
      accepted: e.accepted,
      reason: e.reason,
    }),
  );
  process.on('SIGUSR1', () => out('status', { status: svc.status(), leases: leases.leases.size }));
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    out('stopping', { signal: sig, status: svc.status() });
    void svc.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await svc.start();
  out('started', { status: svc.status() });
}

main().catch((err: unknown) => {
  out('fatal', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(70);
});
