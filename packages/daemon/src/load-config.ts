import {
  formatDiagnostic,
  hasErrors,
  readDhcpdConf,
  readKeepalivedConf,
  type Diagnostic,
} from '@hadhcp/config';
import type { DhcpServerConfig } from '@hadhcp/dhcp';
import type { KeepalivedConfig } from '@hadhcp/vrrp';
import type { Logger } from './logger.js';

/*
 * The version and the configuration loader, apart from the Daemon class: both the daemon (start, reload) and
 * its control commands (config-test, status-get) use them, and the commands must not import the daemon.
 */

export const VERSION = '0.1.0';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[],
  ) {
    super(message);
  }
}

export interface ConfigFiles {
  dhcpdConf?: string;
  keepalivedConf?: string;
}

/** Reads both files; returns the models or throws a ConfigError listing every error with file:line:col. */
export function loadConfigs(
  opts: ConfigFiles,
  log?: Logger,
): { dhcp?: DhcpServerConfig; vrrp?: KeepalivedConfig; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  let dhcp: DhcpServerConfig | undefined;
  let vrrp: KeepalivedConfig | undefined;
  if (opts.dhcpdConf) {
    const r = readDhcpdConf(opts.dhcpdConf);
    diagnostics.push(...r.diagnostics);
    dhcp = r.config;
  }
  if (opts.keepalivedConf) {
    const r = readKeepalivedConf(opts.keepalivedConf);
    diagnostics.push(...r.diagnostics);
    vrrp = r.config;
  }
  for (const d of diagnostics) {
    if (d.severity !== 'error') log?.[d.severity === 'warning' ? 'warn' : 'info'](formatDiagnostic(d));
  }
  if (hasErrors(diagnostics) || (opts.dhcpdConf && !dhcp) || (opts.keepalivedConf && !vrrp)) {
    const errs = diagnostics.filter((d) => d.severity === 'error');
    throw new ConfigError(
      `configuration has ${errs.length} error(s):\n${errs.map(formatDiagnostic).join('\n')}`,
      diagnostics,
    );
  }
  return { dhcp, vrrp, diagnostics };
}
