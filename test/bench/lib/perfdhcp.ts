// perfdhcp as the benchmarks drive it: relay-style DORA (unicast to the server, giaddr set, replies to giaddr:67),
// new random clients, single-threaded (-g single) and optionally pinned to a core; its report read back into
// numbers: sent, completed, failed share, OFFER and ACK latency from the per-exchange timestamps (`-x t`).
// (dhcp.ts carries its own copy of the same parsing, from before this file.)
import { percentile, type Lab } from './bench.js';

export interface Latency {
  p50: number;
  p99: number;
  n: number;
}

export interface PerfRun {
  /** perfdhcp's Rate line: exchanges started per second. */
  rate: number;
  /** Completed DORAs per second of the run (ACKs received / seconds). */
  completedPerS: number;
  sent: number;
  done: number;
  /** 1 - completed / DISCOVERs sent. */
  fail: number;
  offer: Latency;
  ack: Latency;
  /** Every DISCOVER -> OFFER time (ms), sorted. */
  offerMs: number[];
}

export interface PerfOptions {
  /** Namespace perfdhcp runs in. */
  ns: string;
  /** The relay address perfdhcp sends from and puts in giaddr. */
  giaddr: string;
  server: string;
  rate?: number;
  seconds?: number;
  /** Seconds before an exchange counts as failed (-d). */
  dropTime?: number;
  /** `taskset -c CORE` prefix, or none. */
  core?: string;
}

function stats(out: string, section: string): { sent: number; received: number } | undefined {
  const i = out.indexOf(`***Statistics for: ${section}***`);
  if (i < 0) return undefined;
  const s = out.slice(i, i + 800);
  const num = (re: RegExp): number => Number(s.match(re)?.[1] ?? NaN);
  return { sent: num(/sent packets: (\d+)/), received: num(/received packets: (\d+)/) };
}

function timestamps(out: string, section: string): number[] {
  const i = out.indexOf(`***Timestamps for packets: ${section}***`);
  if (i < 0) return [];
  const d = [];
  for (const l of out.slice(i).split('\n').slice(1)) {
    const m = l.match(/^sent \/ received: ([\d.]+) \/ ([\d.]+)/);
    if (!m) {
      if (l.startsWith('***')) break;
      continue;
    }
    d.push((Number(m[2]) - Number(m[1])) * 1000);
  }
  return d.sort((a, b) => a - b);
}

/** One perfdhcp run to completion. */
export async function perfdhcp(lab: Lab, o: PerfOptions): Promise<PerfRun> {
  const a = ['-4', '-g', 'single', '-l', o.giaddr, '-R', '1000000', '-d', String(o.dropTime ?? 1)];
  a.push('-W', '1000000', '-x', 't');
  if (o.rate) a.push('-r', String(o.rate));
  if (o.seconds) a.push('-p', String(o.seconds));
  a.push(o.server);
  const argv = o.core !== undefined ? ['taskset', '-c', o.core, 'perfdhcp', ...a] : ['perfdhcp', ...a];
  const r = await lab.exec(o.ns, argv[0]!, argv.slice(1), ((o.seconds ?? 30) + 30) * 1000);
  const out = r.stdout + r.stderr;
  const doS = stats(out, 'DISCOVER-OFFER');
  const raS = stats(out, 'REQUEST-ACK');
  if (!doS) throw new Error(`perfdhcp output not understood:\n${out.slice(0, 2000)}`);
  const done = raS?.received ?? 0;
  const lat = (ds: number[]): Latency => ({ p50: percentile(ds, 50), p99: percentile(ds, 99), n: ds.length });
  const offerMs = timestamps(out, 'DISCOVER-OFFER');
  return {
    rate: Number(out.match(/Rate: ([\d.]+) (?:4-way|2-way) exchanges\/second/)?.[1] ?? NaN),
    completedPerS: o.seconds ? done / o.seconds : NaN,
    sent: doS.sent,
    done,
    fail: doS.sent > 0 ? 1 - done / doS.sent : 1,
    offer: lat(offerMs),
    offerMs,
    ack: lat(timestamps(out, 'REQUEST-ACK')),
  };
}
