// The migration path of docs/migration.md (issue 8) in the lab: router A already moved to hadhcp, router B still
// on keepalived 2.2.7 + ISC dhcpd 4.4.3, both configured as in the seed (shared/seeds/isc-failover-plus-keepalived-
// ip-helper-zh.txt): the same vrrp_instance (`state MASTER` on both, priorities apart), the failover peer block in
// the seed's order (mclt on both, split on the primary only), ping-check on. Here: the two files, the keepalived
// check script that watches B's dhcpd, and readers of what ISC and keepalived print (state moves with their time)
// and of a watcher that timestamps every appearance and disappearance of the VIP in a namespace.
import { chmodSync } from 'node:fs';
import type { Lab } from './lab.js';
import type { LabProcess, Stamped } from './proc.js';

export interface SeedDhcpdOptions {
  name: string;
  role: 'primary' | 'secondary';
  address: string;
  peerAddress: string;
  /** Seconds. */
  mclt: number;
  /** Seconds. */
  maxResponseDelay: number;
  /** The relayed clients' failover pool on 10.1.0.0/24. */
  range: [string, string];
}

/**
 * One router's dhcpd.conf, laid out as the seed's. Departures, each because of the lab: `authoritative` (the seed's
 * `authorized` is no dhcpd statement), `ddns-update-style none` (no DNS server here), ping-timeout 1 instead of 3,
 * small failover timers, one range on the relayed clients' subnet and an empty declaration for the routers' own.
 */
export function seedDhcpdConf(o: SeedDhcpdOptions): string {
  const split = o.role === 'primary' ? '  split 128;' : '  # no split in secondary';
  return `ddns-update-style none;
log-facility local6;
authoritative;
ping-check true;
ping-timeout 1;
default-lease-time 86400;
max-lease-time 86400;

failover peer "${o.name}" {
  ${o.role};
${split}
  mclt ${o.mclt};
  address ${o.address};
  port 647;
  peer address ${o.peerAddress};
  peer port 647;
  max-response-delay ${o.maxResponseDelay};
  max-unacked-updates 10;
  load balance max seconds 3;
}

subnet 10.0.0.0 netmask 255.255.255.0 {
}

subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option broadcast-address 10.1.0.255;
  option subnet-mask 255.255.255.0;

  pool {
          failover peer "${o.name}";
      range ${o.range[0]} ${o.range[1]};
    }
}
`;
}

export interface SeedKeepalivedOptions {
  priority: number;
  vip: string;
  /** A vrrp_script that fails when the router's dhcpd is gone (the instance then goes FAULT and gives up the VIP). */
  checkScript?: string;
}

/** One router's keepalived.conf as the seed's: `state MASTER` on both, PASS authentication, advert_int 1. */
export function seedKeepalivedConf(o: SeedKeepalivedOptions): string {
  const script = o.checkScript
    ? `global_defs {
    script_user root
}

vrrp_script chk_dhcpd {
    script "${o.checkScript}"
    interval 1
    fall 2
    rise 1
}

`
    : '';
  const track = o.checkScript ? '    track_script {\n        chk_dhcpd\n    }\n' : '';
  return `${script}vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority ${o.priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        ${o.vip}/24
    }
${track}}
`;
}

/**
 * The seed-era check `killall -0 dhcpd`, narrowed to this lab's dhcpd (other labs on the host run theirs): true
 * while a dhcpd started with `confPath` runs.
 */
export function dhcpdCheckScript(lab: Lab, confPath: string): string {
  const p = lab.file('chk-dhcpd.sh', `#!/bin/sh\nexec pgrep -f -- "dhcpd .*-cf ${confPath}" >/dev/null\n`);
  chmodSync(p, 0o755);
  return p;
}

/** A dated line of a peer's output. */
export interface Dated {
  at: number;
  text: string;
}

const linesOf = (p: LabProcess): readonly Stamped[] => p.recent(p.lineCount);

/** ISC's (and hadhcp's, same words) failover state moves: `from -> to`, with when the line arrived. */
export function failoverMoves(p: LabProcess, peer: string): Dated[] {
  const re = new RegExp(`failover peer ${peer}: I move from (\\S+) to (\\S+)`);
  return linesOf(p).flatMap((l) => {
    const m = re.exec(l.text);
    return m ? [{ at: l.at, text: `${m[1]} -> ${m[2]}` }] : [];
  });
}

/** keepalived's state entries (`MASTER`, `BACKUP`, `FAULT`), with when each line arrived. */
export function keepalivedStates(p: LabProcess): Dated[] {
  return linesOf(p).flatMap((l) => {
    const m = /Entering (MASTER|BACKUP|FAULT) STATE/.exec(l.text);
    return m ? [{ at: l.at, text: m[1]! }] : [];
  });
}

/** Lines of `p` matching `re` that arrived at or after `since`. */
export function linesSince(p: LabProcess, re: RegExp, since: number): Dated[] {
  return linesOf(p).filter((l) => l.at >= since && re.test(l.text));
}

export interface VipWatch {
  proc: LabProcess;
  /** Every change seen, in order: when (ms, Date.now() scale) and whether the VIP is there after it. */
  changes: () => { at: number; held: boolean }[];
}

/**
 * A shell loop in `ns` that looks at eth0 every 10 ms and prints `<ms> 1` when the VIP appears and `<ms> 0` when
 * it goes: a brief grab of the VIP (a flap a 200 ms status poll would miss) is on record.
 */
export function watchVipChanges(lab: Lab, ns: string, vip: string): VipWatch {
  const script =
    'prev=x; while :; do ' +
    `if ip -4 -o addr show dev eth0 | grep -q ' ${vip}/'; then s=1; else s=0; fi; ` +
    'if [ "$s" != "$prev" ]; then echo "$(date +%s%3N) $s"; prev=$s; fi; sleep 0.01; done';
  const proc = lab.spawn(ns, 'sh', ['-c', script]);
  const changes = (): { at: number; held: boolean }[] =>
    [...proc.output().matchAll(/^(\d{13}) ([01])$/gm)].map((m) => ({ at: Number(m[1]), held: m[2] === '1' }));
  return { proc, changes };
}

/** hadhcp's own time (the JSON line's `time`, ms) of each log message matching `re`: the daemon's clock, not the pipe's. */
export function hadhcpLogTimes(p: LabProcess, re: RegExp): Dated[] {
  return linesOf(p).flatMap((l) => {
    try {
      const j = JSON.parse(l.text) as { time?: unknown; msg?: unknown };
      return typeof j.msg === 'string' && typeof j.time === 'number' && re.test(j.msg)
        ? [{ at: j.time, text: j.msg }]
        : [];
    } catch {
      return [];
    }
  });
}
