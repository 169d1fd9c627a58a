import { createRequire } from 'node:module';
import type { Logger } from './logger.js';
import type { MetricsSource } from './metrics.js';

/** Sends one datagram to $NOTIFY_SOCKET (the native addon's `sdNotify`; a fake in tests). */
export type NotifySend = (socketPath: string, message: string) => void;

/** What the notifier reads of the environment systemd gives a `Type=notify` service (systemd.exec(5)). */
export interface NotifyEnv {
  NOTIFY_SOCKET?: string;
  WATCHDOG_USEC?: string;
  WATCHDOG_PID?: string;
}

/**
 * The watchdog ping interval in ms: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; undefined when
 * systemd asks for no pings, or asks them of another process (WATCHDOG_PID set and not ours).
 */
export function watchdogIntervalMs(env: NotifyEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** How often STATUS= is looked at without a watchdog: `systemctl status` then lags the daemon by this much. */
const STATUS_EVERY_MS = 10_000;

/**
 * systemd's side of `Type=notify`: READY=1 once the daemon is started (its control socket listening), WATCHDOG=1
 * every WATCHDOG_USEC/2 so that a daemon whose event loop is stuck gets restarted, STATUS= when the one-line
 * summary changes (`systemctl status` shows it), STOPPING=1 when SIGTERM starts the stop. Built only when
 * NOTIFY_SOCKET is set (`fromEnv`): under a terminal or in tests nothing is sent and no timer runs.
 *
 * A datagram that cannot be sent is logged once per kind and otherwise ignored: systemd's notification is never a
 * reason to stop serving DHCP.
 */
export class SystemdNotifier {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastStatus: string | undefined;
  private readonly failed = new Set<string>();

  constructor(
    private readonly socketPath: string,
    private readonly watchdogMs: number | undefined,
    private readonly send: NotifySend,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  /**
   * A notifier for the environment systemd gave, or undefined without NOTIFY_SOCKET. The variables are removed
   * from `env` (sd_notify's unset_environment), so that scripts the daemon runs (vrrp_script, notify) do not
   * inherit them and talk to systemd in the daemon's name.
   */
  static fromEnv(
    env: NotifyEnv,
    log: Pick<Logger, 'warn'>,
    send: NotifySend = nativeSend(),
    pid = process.pid,
  ): SystemdNotifier | undefined {
    const socketPath = env.NOTIFY_SOCKET;
    const watchdogMs = watchdogIntervalMs(env, pid);
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    if (!socketPath) return undefined;
    return new SystemdNotifier(socketPath, watchdogMs, send, log);
  }

  /** The daemon is up: READY=1 (with the first STATUS=), then the watchdog pings and status updates begin. */
  ready(status: () => string): void {
    this.close();
    this.lastStatus = status();
    this.notify('ready', `READY=1\nSTATUS=${this.lastStatus}`);
    this.timer = setInterval(() => this.tick(status), this.watchdogMs ?? STATUS_EVERY_MS);
    // The pings must not keep a stopped daemon alive: the loop ends when everything else has closed.
    this.timer.unref();
  }

  /** SIGTERM: the stop has begun. Pings go on until `close()`, as the stop can take a few seconds (VRRP leaves). */
  stopping(): void {
    this.notify('stopping', 'STOPPING=1\nSTATUS=stopping');
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(status: () => string): void {
    const lines: string[] = [];
    if (this.watchdogMs !== undefined) lines.push('WATCHDOG=1');
    const now = status();
    if (now !== this.lastStatus) {
      this.lastStatus = now;
      lines.push(`STATUS=${now}`);
    }
    if (lines.length > 0) this.notify('tick', lines.join('\n'));
  }

  private notify(kind: string, message: string): void {
    try {
      this.send(this.socketPath, message);
    } catch (e) {
      if (this.failed.has(kind)) return;
      this.failed.add(kind);
      this.log.warn(`systemd notification (${kind}) to ${this.socketPath} failed: ${(e as Error).message}`);
    }
  }
}

function nativeSend(): NotifySend {
  const require = createRequire(import.meta.url);
  let addon: typeof import('@hadhcp/native') | undefined;
  // Loaded at the first message, so a daemon that has no NOTIFY_SOCKET never loads it for this.
  return (socketPath, message) => {
    addon ??= require('@hadhcp/native') as typeof import('@hadhcp/native');
    addon.sdNotify(socketPath, message);
  };
}

/** The one line `systemctl status` shows: DHCP, each VRRP instance, each failover relationship, the store. */
export function systemdStatusLine(src: MetricsSource): string {
  const parts: string[] = [];
  if (src.dhcp) {
    const active = src.dhcp.table.stateCounts().active ?? 0;
    parts.push(
      `DHCP ${src.dhcp.status().serving === false ? 'not serving' : 'serving'}, ${active} active lease(s)`,
    );
  }
  for (const i of src.vrrp?.status() ?? []) parts.push(`VRRP ${i.name} ${i.state}`);
  for (const f of src.failover?.status() ?? [])
    parts.push(
      `failover ${f.name} ${f.state}${f.connected ? `, partner ${f.partnerState}` : ', partner not connected'}`,
    );
  if (src.store?.stats().failed !== undefined) parts.push('lease store FAILED');
  return parts.join('; ') || 'running';
}
