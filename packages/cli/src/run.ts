import { parseIp4 } from '@hadhcp/common';
import { createLogger, Daemon } from '@hadhcp/daemon';

interface RunOpts {
  dhcpd?: string;
  keepalived?: string;
  stateDir: string;
  socket: string;
  interface?: string[];
  serverId?: string;
  pretty?: boolean;
  logLevel: string;
}

/** `hadhcp run`: start, then live until SIGTERM/SIGINT (clean stop) with SIGHUP reloading the configuration. */
export async function runDaemonCommand(o: RunOpts): Promise<number> {
  const log = createLogger({ level: o.logLevel, pretty: o.pretty });
  if (!o.dhcpd && !o.keepalived) {
    log.error('nothing to run: give --dhcpd FILE and/or --keepalived FILE');
    return 3;
  }
  let serverId: number | undefined;
  if (o.serverId !== undefined) {
    serverId = parseIp4(o.serverId);
    if (serverId === undefined) {
      log.error(`--server-id ${o.serverId} is not an IPv4 address`);
      return 3;
    }
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(
      {
        dhcpdConf: o.dhcpd,
        keepalivedConf: o.keepalived,
        stateDir: o.stateDir,
        socketPath: o.socket,
        interfaces: o.interface,
        serverId,
      },
      log,
    );
  } catch (e) {
    log.error({ err: e }, `cannot start: ${(e as Error).message}`);
    log.flush?.();
    return 3;
  }
  const stop = (sig: string) => {
    log.info(`received ${sig}, shutting down`);
    void daemon.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('received SIGHUP, reloading configuration');
    void daemon.reload();
  });
  const code = await daemon.done;
  log.flush?.();
  return code;
}
