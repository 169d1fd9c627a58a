// `pnpm bench dhcp`'s ping-check rows (issue 9): at each rate of new clients, hadhcp with ping-check on, the same
// hadhcp with it off, and ISC dhcpd 4.4 with it on (ISC holds every OFFER for its ping-timeout: that is the
// comparison), one after the other, each on an empty lease store. Each is warmed up at the rate of its row (counted
// apart: the cold start, where hadhcp's look-ahead grows from its idle 32 addresses) and then measured. Nothing
// answers the pings (perfdhcp's namespace does not forward them).
// - "no wait (server)": hadhcp's own count of OFFERs that left on an address probed ahead, against those whose
//   client waited for a probe (statistic-get-all: offers.probe-ready, offers.waited-for-probe), over the run.
// - "OFFER < 500 ms": DISCOVERs perfdhcp saw answered within 500 ms, of all it sent (any server; an OFFER that
//   waited for a 1 s probe is later than that, one that did not leaves in milliseconds).
// - on / off: completed exchanges/s with ping-check on against off at the same offered rate (target >= 0.9).
import { execFileSync } from 'node:child_process';
import { controlRequest } from '../../../packages/control/dist/index.js';
import { cpuSeconds, fmtMs, pct, table, type Lab, type LabProcess } from './bench.js';
import { profileIn } from './cpuprofile.js';
import { perfdhcp, type PerfRun } from './perfdhcp.js';

/** An OFFER later than this waited for a probe (ping-timeout 1 s); hadhcp's others leave within milliseconds. */
export const WAITED_MS = 500;
/** perfdhcp's drop time: ISC's OFFER leaves after its 1 s ping-timeout and must still count. */
const DROP_S = 5;

export interface PingBenchOptions {
  servers: string[];
  rates: number[];
  seconds: number;
  warmupSeconds: number;
  /** Starts a server on an empty store in ns srv; `control`: hadhcp's control socket. */
  start(server: string, pingCheck: boolean, node: string[]): Promise<{ proc: LabProcess; control?: string }>;
  /** hadhcp under node --cpu-prof (warm-up included): its top self time is printed after each of its rows. */
  profile?: boolean;
  /** Pin the server (all its threads) to this core, perfdhcp to `generatorCore`. */
  serverCore?: string;
  generatorCore?: string;
  ns: string;
  giaddr: string;
  serverIp: string;
}

interface Row {
  server: string;
  ping: boolean;
  rate: number;
  run: PerfRun;
  cpu: number;
  /** OFFERs with and without a wait for a probe, over the measured run and over the warm-up (hadhcp). */
  waited?: { run: [ready: number, waited: number]; warmup: [ready: number, waited: number] };
  /** Echo requests sent per OFFER over the measured run (hadhcp, ping-check on). */
  probesPerOffer?: number;
  load: string;
}

async function offerCounts(control: string): Promise<[ready: number, waited: number, probes: number]> {
  const r = (await controlRequest(control, 'statistic-get-all')) as {
    arguments?: Record<string, [number, string][]>;
  };
  const v = (k: string): number => r.arguments?.[k]?.[0]?.[0] ?? 0;
  return [v('offers.probe-ready'), v('offers.waited-for-probe'), v('ping.sent')];
}

const loadavg = (): string => execFileSync('cat', ['/proc/loadavg']).toString().split(' ')[0]!;

async function row(lab: Lab, o: PingBenchOptions, server: string, ping: boolean, rate: number): Promise<Row> {
  const profDir =
    o.profile && server === 'hadhcp' ? lab.file(`ping-profile-${ping ? 'on' : 'off'}-${rate}`) : undefined;
  const { proc, control } = await o.start(
    server,
    ping,
    profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
  );
  try {
    if (o.serverCore !== undefined)
      execFileSync('taskset', ['-a', '-p', '-c', o.serverCore, String(proc.pid)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    const pd = { ns: o.ns, giaddr: o.giaddr, server: o.serverIp, dropTime: DROP_S, core: o.generatorCore };
    if (o.warmupSeconds > 0) await perfdhcp(lab, { ...pd, rate, seconds: o.warmupSeconds });
    const before = control && ping ? await offerCounts(control) : undefined;
    const cpu0 = cpuSeconds(proc.pid);
    const run = await perfdhcp(lab, { ...pd, rate, seconds: o.seconds });
    const cpu = cpuSeconds(proc.pid) - cpu0;
    const load = loadavg();
    if (!proc.running) throw new Error(`${server} died during the run:\n${proc.tail()}`);
    let waited: Row['waited'];
    let probesPerOffer: number | undefined;
    if (control && ping && before) {
      const after = await offerCounts(control);
      waited = { run: [after[0] - before[0], after[1] - before[1]], warmup: [before[0], before[1]] };
      probesPerOffer = (after[2] - before[2]) / (after[0] - before[0] + after[1] - before[1]);
    }
    return { server, ping, rate, run, cpu, waited, probesPerOffer, load };
  } finally {
    await proc.stop(3000);
    const profile = profileIn(profDir);
    if (profile) process.stderr.write(`${profile}\n`);
  }
}

const share = ([ready, waited]: [number, number]): number => ready / (ready + waited);

/** Runs the rows (every server of one rate before the next rate) and returns the section to print. */
export async function pingCheckRows(lab: Lab, o: PingBenchOptions): Promise<string> {
  const rows: Row[] = [];
  const variants: Array<[string, boolean]> = [];
  if (o.servers.includes('hadhcp')) variants.push(['hadhcp', true], ['hadhcp', false]);
  if (o.servers.includes('dhcpd')) variants.push(['dhcpd', true]);
  for (const rate of o.rates)
    for (const [server, ping] of variants) {
      process.stderr.write(`[dhcp] ping-check ${ping ? 'on' : 'off'} at ${rate} new clients/s: ${server}\n`);
      const r = await row(lab, o, server, ping, rate);
      process.stderr.write(
        `  ${r.run.completedPerS.toFixed(0)}/s done, ${pct(r.run.fail)} failed, OFFER p50 ${fmtMs(r.run.offer.p50)} ms (min ${fmtMs(r.run.offerMs[0] ?? NaN)}, ${r.run.offerMs.length} OFFERs of ${r.run.sent})` +
          (r.waited ? `, no wait ${pct(share(r.waited.run))} (warm-up ${pct(share(r.waited.warmup))})` : '') +
          `, load ${r.load}\n`,
      );
      rows.push(r);
    }
  const off = (rate: number): Row | undefined =>
    rows.find((r) => r.server === 'hadhcp' && !r.ping && r.rate === rate);
  const lines = [
    `\n## Ping-check under load: new clients/s, ${o.seconds} s each after ${o.warmupSeconds} s of warm-up at the same rate, ` +
      `perfdhcp drop time ${DROP_S} s, nothing answers the pings`,
    table(
      [
        'server',
        'ping-check',
        'new clients/s',
        'completed/s',
        'failed',
        'OFFER p50 / p99 ms',
        `OFFER < ${WAITED_MS} ms`,
        'no wait (server counters): run / warm-up',
        'on / off',
        'probes per OFFER',
        'server CPU s',
        'load avg (1 min)',
      ],
      rows.map((r) => {
        const base = r.ping && r.server === 'hadhcp' ? off(r.rate) : undefined;
        return [
          r.server === 'dhcpd' ? 'ISC dhcpd 4.4' : r.server,
          r.ping ? 'on' : 'off',
          r.rate,
          r.run.completedPerS.toFixed(0),
          pct(r.run.fail),
          `${fmtMs(r.run.offer.p50)} / ${fmtMs(r.run.offer.p99)}`,
          pct(r.run.offerMs.filter((x) => x >= 0 && x < WAITED_MS).length / r.run.sent),
          r.waited
            ? `${pct(share(r.waited.run))} (${r.waited.run[1]} waited) / ${pct(share(r.waited.warmup))} (${r.waited.warmup[1]})`
            : '-',
          base ? (r.run.completedPerS / base.run.completedPerS).toFixed(2) : '-',
          r.probesPerOffer !== undefined ? r.probesPerOffer.toFixed(2) : '-',
          r.cpu.toFixed(1),
          r.load,
        ];
      }),
    ),
  ];
  for (const r of rows.filter((x) => x.server === 'hadhcp' && x.ping && x.waited)) {
    const noWait = share(r.waited!.run);
    const base = off(r.rate);
    const ratio = base ? r.run.completedPerS / base.run.completedPerS : NaN;
    lines.push(
      `hadhcp ping-check on at ${r.rate}/s: ${pct(noWait)} of OFFERs without a wait (target >= 99%: ${noWait >= 0.99 ? 'met' : 'MISSED'}), ` +
        `${ratio.toFixed(2)}x the completed exchanges/s of ping-check off (target >= 0.9x: ${ratio >= 0.9 ? 'met' : 'MISSED'})`,
    );
  }
  return lines.join('\n');
}
