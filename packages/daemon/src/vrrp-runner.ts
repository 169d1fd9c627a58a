import { formatIp4, type Ip4 } from '@hadhcp/common';
import { checkScriptSecurity, scriptProgram } from '@hadhcp/config';
import { VrrpService, type InstanceStatus, type KeepalivedConfig, type StateChange } from '@hadhcp/vrrp';
import type { Logger } from './logger.js';

/**
 * The daemon's handle on the VRRP instances: starts the service, tells the supervisor which VIPs this node
 * holds (they become the DHCP server identifier), and shapes the status for the control socket.
 */
export class VrrpRunner {
  private service: VrrpService;
  private readonly masterListeners: Array<(vips: Ip4[]) => void> = [];
  private readonly held = new Map<string, Ip4[]>();

  constructor(
    private config: KeepalivedConfig,
    private readonly log: Logger,
  ) {
    this.service = this.create(config);
  }

  private create(config: KeepalivedConfig): VrrpService {
    const s = new VrrpService(config, {
      log: this.log,
      // enable_script_security: keepalived's rules, kept in the config package next to `check-config`'s use.
      scriptGuard: (command, runAs) => checkScriptSecurity(scriptProgram(command), runAs),
    });
    s.on('state', (c: StateChange) => {
      this.held.set(c.instance, c.to === 'MASTER' ? c.vips : []);
      const vips = [...this.held.values()].flat();
      this.log.debug?.(`VIPs held now: ${vips.map(formatIp4).join(', ') || 'none'}`);
      for (const l of this.masterListeners) l(vips);
    });
    return s;
  }

  onMaster(listener: (vips: Ip4[]) => void): void {
    this.masterListeners.push(listener);
  }

  /** Applies a supervisor weight to every instance (0 removes it). */
  setExternalWeight(weight: number, reason: string): void {
    for (const s of this.service.status()) this.service.setExternalWeight(s.name, weight, reason);
  }

  async start(): Promise<void> {
    await this.service.start();
  }

  /**
   * Applies a re-read keepalived.conf. Unchanged (positions and file names aside): nothing happens, so a SIGHUP
   * meant for dhcpd.conf never moves the VIP. Changed: the instances restart, which costs one election
   * (keepalived restarts the instances it changed). Returns whether it restarted.
   */
  async reconfigure(config: KeepalivedConfig): Promise<boolean> {
    if (sameVrrpConfig(this.config, config)) return false;
    this.log.info('keepalived configuration changed: restarting the VRRP instances');
    await this.service.stop();
    this.held.clear();
    this.config = config;
    this.service = this.create(config);
    await this.service.start();
    return true;
  }

  status(): Array<InstanceStatus & { priority: number }> {
    return this.service.status().map((s) => ({ ...s, priority: s.configuredPriority }));
  }

  async stop(): Promise<void> {
    await this.service.stop();
  }
}

/** The two configurations mean the same (where each statement was written does not count). */
export function sameVrrpConfig(a: KeepalivedConfig, b: KeepalivedConfig): boolean {
  const canon = (c: KeepalivedConfig) =>
    JSON.stringify(c, (k, v: unknown) => (k === 'pos' || k === 'files' ? undefined : v));
  return canon(a) === canon(b);
}
