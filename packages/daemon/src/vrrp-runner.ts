import { formatIp4, type Ip4 } from '@hadhcp/common';
import { checkScriptSecurity, scriptProgram } from '@hadhcp/config';
import { VrrpService, type InstanceStatus, type KeepalivedConfig, type VipChange } from '@hadhcp/vrrp';
import type { Logger } from './logger.js';

/** What the runner uses of a VrrpService (a fake in tests). */
export type VrrpServiceLike = Pick<
  VrrpService,
  'start' | 'stop' | 'status' | 'setExternalWeightAll' | 'peerGone' | 'on'
>;

/**
 * The daemon's handle on the VRRP instances: starts the service, tells the supervisor which VIPs this node
 * holds (they become the DHCP server identifier), and shapes the status for the control socket.
 */
export class VrrpRunner {
  private service: VrrpServiceLike;
  private readonly masterListeners: Array<(vips: Ip4[]) => void> = [];
  private readonly held = new Map<string, Ip4[]>();
  /** The supervisor's weight: a service created on reconfigure starts with it, not at full priority. */
  private external: { weight: number; reason: string } | undefined;
  /** start, reconfigure and stop run one after another: two quick reloads never leave two services running. */
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private config: KeepalivedConfig,
    private readonly log: Logger,
    private readonly makeService: (config: KeepalivedConfig, log: Logger) => VrrpServiceLike = (c, l) =>
      new VrrpService(c, {
        log: l,
        // enable_script_security: keepalived's rules, kept in the config package next to `check-config`'s use.
        scriptGuard: (command, runAs) => checkScriptSecurity(scriptProgram(command), runAs),
      }),
  ) {
    this.service = this.create(config);
  }

  private create(config: KeepalivedConfig): VrrpServiceLike {
    const s = this.makeService(config, this.log);
    if (this.external) s.setExternalWeightAll(this.external.weight, this.external.reason);
    // 'vips', not 'state': on becoming MASTER it comes once the netlink add has returned, so the VIP is on the
    // interface when DHCP binds it (no polling for the address); on leaving MASTER, at the transition.
    s.on('vips', (c: VipChange) => {
      this.held.set(c.instance, c.vips);
      const vips = [...this.held.values()].flat();
      this.log.debug?.(`VIPs held now: ${vips.map(formatIp4).join(', ') || 'none'}`);
      for (const l of this.masterListeners) l(vips);
    });
    return s;
  }

  /**
   * Every VIP this node holds, each time that changes: after the kernel has the VIPs of an instance that became
   * MASTER (its netlink add returned: a socket can bind them at once), and as soon as one leaves MASTER.
   */
  onMaster(listener: (vips: Ip4[]) => void): void {
    this.masterListeners.push(listener);
  }

  /** Applies a supervisor weight to every instance (0 removes it). */
  setExternalWeight(weight: number, reason: string): void {
    this.external = weight === 0 ? undefined : { weight, reason };
    this.service.setExternalWeightAll(weight, reason);
  }

  /**
   * The peer's daemon is gone (its failover connection closed without a DISCONNECT): every BACKUP instance takes
   * the VIP after its Skew_Time instead of Master_Down_Interval, unless the master advertises first.
   */
  peerGone(reason: string): void {
    this.service.peerGone(reason);
  }

  start(): Promise<void> {
    return this.serial(() => this.service.start());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Applies a re-read keepalived.conf. Unchanged (positions and file names aside): nothing happens, so a SIGHUP
   * meant for dhcpd.conf never moves the VIP. Changed: the instances restart, which costs one election
   * (keepalived restarts the instances it changed). Returns whether it restarted.
   *
   * Starting opens sockets and netlink and looks up interfaces at run time: when the new configuration cannot be
   * started (an interface gone, a socket refused), the one that ran before is started again, and nothing is
   * thrown (SIGHUP has no one to throw to: an unhandled rejection would end the daemon).
   */
  reconfigure(config: KeepalivedConfig): Promise<boolean> {
    return this.serial(async () => {
      if (this.stopped || sameVrrpConfig(this.config, config)) return false;
      this.log.info('keepalived configuration changed: restarting the VRRP instances');
      await this.service.stop();
      this.held.clear();
      if (await this.startService(config)) {
        this.config = config;
        return true;
      }
      this.log.warn('VRRP: starting the previous keepalived configuration again');
      if (!(await this.startService(this.config)))
        this.log.error('VRRP is not running: fix keepalived.conf and reload (SIGHUP)');
      return false;
    });
  }

  /** A new service for `config`, started; false (logged, the half-started service stopped) when it cannot start. */
  private async startService(config: KeepalivedConfig): Promise<boolean> {
    this.service = this.create(config);
    try {
      await this.service.start();
      return true;
    } catch (e) {
      this.log.error(`VRRP cannot start with this keepalived configuration: ${(e as Error).message}`);
      await this.service.stop().catch(() => undefined);
      this.held.clear();
      return false;
    }
  }

  status(): Array<InstanceStatus & { priority: number }> {
    return this.service.status().map((s) => ({ ...s, priority: s.configuredPriority }));
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.serial(() => this.service.stop());
  }
}

/** The two configurations mean the same (where each statement was written does not count). */
export function sameVrrpConfig(a: KeepalivedConfig, b: KeepalivedConfig): boolean {
  const canon = (c: KeepalivedConfig) =>
    JSON.stringify(c, (k, v: unknown) => (k === 'pos' || k === 'files' ? undefined : v));
  return canon(a) === canon(b);
}
