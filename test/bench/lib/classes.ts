// `pnpm bench dhcp`'s classes row (issue 10 point 7): hadhcp on the bench's plain dhcpd.conf against the same
// hadhcp on that file plus ten classes and an iPXE `if` chain (withClasses), in alternating rounds, each on an empty
// lease store, warmed up and then driven at one fixed offered rate that both complete. The server runs pinned to one
// core, so its exchanges/s at saturation is what one core's second buys: 1 / (server CPU per exchange). That is the
// figure compared (median of the rounds), target: classes >= 0.9x plain. Completed/s at an offered rate above
// capacity was tried first and is not usable on this shared machine: at 25,000/s offered, the plain config's three
// rounds completed 6,694, 10,055 and 14,820/s (33-61 % failed) while its CPU per exchange stayed within 50-65 µs.
// What the classes cost per packet: every class's `match if` is evaluated for every request (perfdhcp's clients send
// no vendor or user class, so all but one class miss, as most clients of a real site miss most classes); the one
// that matches them (by hardware prefix) adds a class-scoped option they ask for; the `match hardware` class looks
// each MAC up in its 50 subclasses; the pool's `deny members of` is checked per address; the `if` chain runs per
// reply and sets the boot filename.
import { execFileSync } from 'node:child_process';
import { cpuSeconds, fmtMs, median, pct, table, type Lab, type LabProcess } from './bench.js';
import { profileIn } from './cpuprofile.js';
import { perfdhcp, type PerfRun } from './perfdhcp.js';

/** Ten classes, an iPXE `if` chain and a pool that refuses two of the classes, as a PXE boot site writes them. */
export const CLASSES_DECLARATIONS = `
option arch code 93 = unsigned integer 16;
option space ACME;
option ACME.tftp code 1 = ip-address;
option ACME.vlan code 3 = unsigned integer 16;

class "acme-phones" {
  match if substring(option vendor-class-identifier, 0, 9) = "ACME-SIP-";
  vendor-option-space ACME;
  option ACME.tftp 10.0.0.5;
  option ACME.vlan 42;
}
class "polycom" { match if substring(option vendor-class-identifier, 0, 7) = "Polycom"; option tftp-server-name "10.0.0.6"; }
class "cisco-ap" { match if option vendor-class-identifier = "Cisco AP c2700"; option domain-name "ap.example"; }
class "msft" { match if substring(option vendor-class-identifier, 0, 4) = "MSFT"; option domain-name "win.example"; }
class "android" { match if substring(option vendor-class-identifier, 0, 13) = "android-dhcp-"; }
class "pxe" { match if substring(option vendor-class-identifier, 0, 9) = "PXEClient"; next-server 10.0.0.69; }
class "ipxe" { match if exists user-class and option user-class = "iPXE"; }
class "uefi-http" { match if substring(option vendor-class-identifier, 0, 10) = "HTTPClient"; }
class "lab-clients" {
  match if substring(hardware, 1, 2) = 00:0c;
  option domain-name "clients.bench.example";
}
class "printers" { match hardware; option domain-name "printers.example"; }
${Array.from({ length: 50 }, (_, i) => `subclass "printers" 1:02:00:00:00:aa:${i.toString(16).padStart(2, '0')};`).join('\n')}

if exists user-class and option user-class = "iPXE" {
  filename "http://10.0.0.80/boot.ipxe";
} elsif option arch = 00:07 {
  filename "ipxe.efi";
} else {
  filename "undionly.kpxe";
}
`;

/**
 * The plain config with the classes and the `if` chain before its subnets, and its one dynamic range (the bench's
 * big one) inside a pool that denies the phones and the printers.
 */
export function withClasses(plain: string): string {
  const ranges = [...plain.matchAll(/^([ \t]*)range (\S+) (\S+);$/gm)];
  if (ranges.length !== 1)
    throw new Error(`withClasses: expected one range in the plain config, found ${ranges.length}`);
  const [line, indent, from, to] = ranges[0]!;
  const nl = `\n${indent}`;
  const pool =
    `${indent}pool {${nl}  deny members of "acme-phones";${nl}  deny members of "printers";` +
    `${nl}  range ${from} ${to};${nl}}`;
  const at = plain.search(/^subnet /m);
  return (plain.slice(0, at) + CLASSES_DECLARATIONS + '\n' + plain.slice(at)).replace(line, pool);
}

export interface ClassesBenchOptions {
  /** The bench's plain dhcpd.conf. */
  plain: string;
  /** Offered rate: one that both configs complete (failed share shown), so the CPU figures are of the same work. */
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** Rounds of (plain, classes); the figures are the medians. */
  rounds: number;
  /** Starts hadhcp on an empty store in ns srv with this dhcpd.conf and these node flags. */
  start(conf: string, node: string[]): Promise<LabProcess>;
  /** Each run under node --cpu-prof (warm-up included): its top self time is printed after it. */
  profile?: boolean;
  serverCore?: string;
  generatorCore?: string;
  ns: string;
  giaddr: string;
  serverIp: string;
}

interface Row {
  config: 'plain' | 'classes';
  round: number;
  run: PerfRun;
  cpu: number;
  load: string;
}

const loadavg = (): string => execFileSync('cat', ['/proc/loadavg']).toString().split(' ')[0]!;

async function row(lab: Lab, o: ClassesBenchOptions, config: Row['config'], round: number): Promise<Row> {
  const profDir = o.profile ? lab.file(`classes-profile-${config}-${round}`) : undefined;
  const node = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const proc = await o.start(config === 'plain' ? o.plain : withClasses(o.plain), node);
  try {
    if (o.serverCore !== undefined)
      execFileSync('taskset', ['-a', '-p', '-c', o.serverCore, String(proc.pid)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    const pd = { ns: o.ns, giaddr: o.giaddr, server: o.serverIp, core: o.generatorCore };
    if (o.warmupSeconds > 0) await perfdhcp(lab, { ...pd, rate: o.rate, seconds: o.warmupSeconds });
    const cpu0 = cpuSeconds(proc.pid);
    const run = await perfdhcp(lab, { ...pd, rate: o.rate, seconds: o.seconds });
    const cpu = cpuSeconds(proc.pid) - cpu0;
    if (!proc.running) throw new Error(`hadhcp (${config}) died during the run:\n${proc.tail()}`);
    return { config, round, run, cpu, load: loadavg() };
  } finally {
    await proc.stop(3000);
    const profile = profileIn(profDir);
    if (profile) process.stderr.write(`${profile}\n`);
  }
}

const usPer = (r: Row): number => (r.run.done ? (r.cpu / r.run.done) * 1e6 : NaN);
/** Exchanges per second of one core of server CPU: the pinned server's rate at saturation. */
const perCore = (r: Row): number => 1e6 / usPer(r);

/** Runs the rounds (plain then classes, alternating, so both see the same neighbours) and returns the section. */
export async function classesRows(lab: Lab, o: ClassesBenchOptions): Promise<string> {
  const rows: Row[] = [];
  for (let round = 1; round <= o.rounds; round++)
    for (const config of ['plain', 'classes'] as const) {
      process.stderr.write(`[dhcp] classes row, round ${round}: ${config} config at ${o.rate}/s offered\n`);
      const r = await row(lab, o, config, round);
      process.stderr.write(
        `  ${r.run.completedPerS.toFixed(0)}/s done, ${pct(r.run.fail)} failed, ${usPer(r).toFixed(1)} µs CPU per exchange, load ${r.load}\n`,
      );
      rows.push(r);
    }
  const mid = (config: Row['config'], f: (r: Row) => number): number =>
    median(rows.filter((r) => r.config === config).map(f));
  const done = {
    plain: mid('plain', (r) => r.run.completedPerS),
    classes: mid('classes', (r) => r.run.completedPerS),
  };
  const core = { plain: mid('plain', perCore), classes: mid('classes', perCore) };
  const ratio = core.classes / core.plain;
  // Each round's classes run against the plain run just before it (the same neighbours on this shared machine).
  const paired = median(
    rows
      .filter((r) => r.config === 'classes')
      .map((c) => perCore(c) / perCore(rows.find((p) => p.config === 'plain' && p.round === c.round)!)),
  );
  return [
    `\n## Classes and conditionals: hadhcp, plain config vs ten classes + an iPXE if chain (lib/classes.ts), ` +
      `${o.rate}/s offered, ${o.seconds} s each after ${o.warmupSeconds} s of warm-up, ${o.rounds} rounds alternating`,
    table(
      [
        'round',
        'config',
        'completed/s',
        'failed',
        'OFFER p50 / p99 ms',
        'ACK p50 / p99 ms',
        'server CPU µs per exchange',
        'exchanges per server CPU s',
        'load avg (1 min)',
      ],
      rows.map((r) => [
        r.round,
        r.config,
        r.run.completedPerS.toFixed(0),
        pct(r.run.fail),
        `${fmtMs(r.run.offer.p50)} / ${fmtMs(r.run.offer.p99)}`,
        `${fmtMs(r.run.ack.p50)} / ${fmtMs(r.run.ack.p99)}`,
        usPer(r).toFixed(1),
        perCore(r).toFixed(0),
        r.load,
      ]),
    ),
    `medians: plain ${core.plain.toFixed(0)} exchanges per server CPU s (${done.plain.toFixed(0)}/s completed), ` +
      `classes ${core.classes.toFixed(0)} (${done.classes.toFixed(0)}/s completed): classes / plain = ${ratio.toFixed(2)}x; ` +
      `median of the rounds' classes / plain = ${paired.toFixed(2)}x (target >= 0.9x, both: ` +
      `${ratio >= 0.9 && paired >= 0.9 ? 'met' : 'MISSED'})`,
  ].join('\n');
}
