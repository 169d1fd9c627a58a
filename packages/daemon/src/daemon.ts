import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ip4 } from '@hadhcp/common';
import type { Diagnostic } from '@hadhcp/config';
import { ControlServer } from '@hadhcp/control';
import { DhcpService } from '@hadhcp/dhcp';
import { LeaseStore } from '@hadhcp/leases';
import type { KeepalivedConfig } from '@hadhcp/vrrp';
import { registerCommands } from './commands.js';
import { EventLog } from './events.js';
import { commandRunner } from './execute.js';
import { FailoverRunner } from './failover-runner.js';
import { ConfigError, loadConfigs, VERSION } from './load-config.js';
import type { Logger } from './logger.js';
import { resolveConfigNames } from './resolve-names.js';
import { Supervisor } from './supervise.js';
import { VrrpRunner } from './vrrp-runner.js';

export interface DaemonOptions {
  dhcpdConf?: string;
  keepalivedConf?: string;
  stateDir: string;
  socketPath: string;
  /** Interfaces on which directly attached clients are served; default: every interface with a declared subnet. */
  interfaces?: string[];
  serverId?: Ip4;
  /** Run dhcpd.conf's `execute(...)` (off by default, as in ISC's default build): execute.ts. */
  enableExecute?: boolean;
}

export { ConfigError, loadConfigs, VERSION } from './load-config.js';

/** Master_Down_Interval of the slowest instance (RFC 3768 6.1: 3 x Advertisement_Interval + Skew_Time <= 1 s), ms. */
function masterDownMs(cfg: KeepalivedConfig): number {
  return Math.max(4_000, ...cfg.instances.map((i) => (3 * i.advertInt + 1) * 1000));
}

/**
 * The process: configuration, lease store, DHCP service, VRRP instances and the control socket, started in
 * that order and stopped in reverse. Everything is registered here explicitly.
 */
export class Daemon {
  readonly startedAt = Date.now();
  /** The last notable events, for `hadhcp status`. */
  readonly events = new EventLog();
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((r) => (this.resolveDone = r));
  private stopping = false;

  private constructor(
    readonly opts: DaemonOptions,
    readonly log: Logger,
    readonly control: ControlServer,
    readonly store: LeaseStore | undefined,
    public dhcp: DhcpService | undefined,
    public vrrp: VrrpRunner | undefined,
    public failover: FailoverRunner | undefined,
    readonly supervisor: Supervisor | undefined,
  ) {}

  static async start(opts: DaemonOptions, log: Logger): Promise<Daemon> {
    const cfg = loadConfigs(opts, log);
    if (cfg.dhcp) await resolveConfigNames(cfg.dhcp, log);
    let store: LeaseStore | undefined;
    let dhcp: DhcpService | undefined;
    let vrrp: VrrpRunner | undefined;
    let failover: FailoverRunner | undefined;
    let supervisor: Supervisor | undefined;
    const control = new ControlServer(opts.socketPath, {
      onRequest: (c) => log.debug(`control command ${c}`),
    });
    try {
      if (cfg.dhcp) {
        mkdirSync(opts.stateDir, { recursive: true });
        // The store's notes (torn tails cut, compaction, failure and recovery) go to the daemon's log.
        store = await LeaseStore.open(opts.stateDir, { log: (m) => log.warn(m) });
        dhcp = new DhcpService(
          cfg.dhcp,
          store,
          { log, ...(opts.enableExecute && { execute: commandRunner(log) }) },
          {
            interfaces: opts.interfaces,
            serverId: opts.serverId,
          },
        );
        if (cfg.vrrp) {
          // With VRRP beside DHCP, silent until the election says otherwise: a backup must not answer while
          // starting.
          dhcp.setServing(false, 'waiting for the VRRP election');
          vrrp = new VrrpRunner(cfg.vrrp, log);
        }
        // Failover before the sockets open: the first packet is already answered by the relationship's rules.
        const peers = cfg.dhcp.failoverPeers;
        if (peers.length > 0) {
          failover = new FailoverRunner(peers, dhcp, opts.stateDir, log, {
            // With VRRP beside it, partner-down needs both signals: the supervisor takes it, not the link alone.
            supervised: vrrp !== undefined,
            answerAllRelayed: () => supervisor?.answerAllRelayed() ?? false,
          });
          await failover.start();
        }
        if (vrrp) {
          const first = peers[0];
          supervisor = new Supervisor({
            dhcp,
            vrrp,
            failover: first && failover?.services.get(first.name),
            recorded: first && failover?.recorded(first.name),
            log,
            partnerDownAfterMs: first && first.autoPartnerDown > 0 ? first.autoPartnerDown * 1000 : undefined,
            masterDownMs: masterDownMs(cfg.vrrp!),
          });
          // Before VRRP starts, so a node that becomes master at once (priority 255) is not missed.
          supervisor.start();
        }
        await dhcp.start();
      }
      if (cfg.vrrp) {
        vrrp ??= new VrrpRunner(cfg.vrrp, log);
        await vrrp.start();
      }
      mkdirSync(dirname(opts.socketPath), { recursive: true });
      const d = new Daemon(opts, log, control, store, dhcp, vrrp, failover, supervisor);
      d.events.add('daemon', `hadhcp ${VERSION} started`);
      d.events.watch({ dhcp, vrrp, failover, supervisor });
      registerCommands(d);
      await control.listen();
      log.info(
        `hadhcp ${VERSION} started: ${[
          cfg.dhcp ? 'DHCP' : '',
          failover ? `failover (${[...failover.services.keys()].join(', ')})` : '',
          cfg.vrrp ? `VRRP (${cfg.vrrp.instances.length} instance(s))` : '',
        ]
          .filter(Boolean)
          .join(' + ')}; control socket ${opts.socketPath}`,
      );
      return d;
    } catch (e) {
      supervisor?.stop();
      await vrrp?.stop().catch(() => undefined);
      await failover?.stop().catch(() => undefined);
      await dhcp?.stop().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await control.close().catch(() => undefined);
      throw e;
    }
  }

  /** config-reload / SIGHUP: a bad new configuration is refused and the running one kept. Leases are kept. */
  async reload(): Promise<{ ok: boolean; text: string; diagnostics: Diagnostic[] }> {
    let cfg: ReturnType<typeof loadConfigs>;
    try {
      cfg = loadConfigs(this.opts, this.log);
    } catch (e) {
      const ce = e as ConfigError;
      this.log.error(`reload refused, keeping the running configuration: ${ce.message}`);
      return { ok: false, text: ce.message, diagnostics: ce.diagnostics ?? [] };
    }
    if (cfg.dhcp && this.dhcp) {
      await resolveConfigNames(cfg.dhcp, this.log);
      this.dhcp.reconfigure(cfg.dhcp);
    }
    if (cfg.vrrp && this.vrrp) await this.vrrp.reconfigure(cfg.vrrp);
    this.log.info('configuration reloaded');
    this.events.add('daemon', 'configuration reloaded');
    return { ok: true, text: 'Configuration successfully reloaded.', diagnostics: cfg.diagnostics };
  }

  /**
   * SIGTERM: VRRP leaves first (priority 0, VIPs removed) so the peer takes over at once; then failover (the
   * partner is told, and takes every client), DHCP and the store.
   */
  async stop(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      this.supervisor?.stop();
      this.events.stop();
      await this.vrrp?.stop();
      // ISC's gentle shutdown: the partner hears `shutdown`, moves to partner-down and serves every client.
      await this.failover?.shutdown();
      await this.dhcp?.stop();
      await this.store?.close();
      await this.control.close();
      this.log.info('hadhcp stopped');
    } catch (e) {
      this.log.error({ err: e }, `error while stopping: ${(e as Error).message}`);
      code = code || 1;
    }
    this.resolveDone(code);
  }
}
