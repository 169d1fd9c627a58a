import { availableParallelism } from 'node:os';
import { parseIp4 } from '@hadhcp/common';
import { Result } from '@hadhcp/control';
import {
  createLogger,
  Daemon,
  MetricsServer,
  parseMetricsListen,
  SystemdNotifier,
  systemdStatusLine,
  VERSION,
  type Logger,
  type MetricsListen,
} from '@hadhcp/daemon';
import { gcThreadsNote } from './gc-threads.js';

interface RunOpts {
  dhcpd?: string;
  keepalived?: string;
  stateDir: string;
  socket: string;
  interface?: string[];
  serverId?: string;
  metricsListen?: string;
  enableExecute?: boolean;
  pretty?: boolean;
  logLevel: string;
}

/** Exit code after an uncaught exception or unhandled rejection (sysexits' EX_SOFTWARE: an internal error). */
export const EXIT_INTERNAL_ERROR = 70;

/**
 * `hadhcp run`: start, then live until SIGTERM/SIGINT (clean stop) with SIGHUP reloading the configuration.
 * Every way out writes the whole log first: the normal stop and a failed start flush before returning (the
 * process then ends when its event loop drains), and an uncaught exception or unhandled rejection is logged
 * with its stack at fatal level, flushed, and ends the process at once with EXIT_INTERNAL_ERROR: after one, the
 * daemon's state is unknown, and the VRRP peer takes over on its own when the adverts stop.
 */
export async function runDaemonCommand(o: RunOpts): Promise<number> {
  const log = createLogger({ level: o.logLevel, pretty: o.pretty });
  log.info(gcThreadsNote(process.execArgv, availableParallelism()));
  const fatal = (what: string) => (e: unknown) => {
    try {
      log.fatal({ err: e }, `${what}: ${e instanceof Error ? e.message : String(e)}; exiting`);
      log.flush();
    } finally {
      process.exit(EXIT_INTERNAL_ERROR);
    }
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  try {
    return await serve(o, log);
  } finally {
    log.flush(); // synchronous: every line logged so far is written when it returns
  }
}

async function serve(o: RunOpts, log: Logger): Promise<number> {
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
  let metricsListen: MetricsListen | undefined;
  if (o.metricsListen !== undefined) {
    const m = parseMetricsListen(o.metricsListen);
    if (typeof m === 'string') {
      log.error(m);
      return 3;
    }
    metricsListen = m;
  }
  // Type=notify under systemd (NOTIFY_SOCKET set); undefined in a terminal or a test, and then nothing is sent.
  const notifier = SystemdNotifier.fromEnv(process.env, log);
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
        enableExecute: o.enableExecute === true,
      },
      log,
    );
  } catch (e) {
    log.error({ err: e }, `cannot start: ${(e as Error).message}`);
    return 3;
  }
  let metrics: MetricsServer | undefined;
  if (metricsListen) {
    try {
      metrics = await MetricsServer.start(metricsListen, daemon, { version: VERSION, log });
      log.info(`Prometheus metrics at http://${o.metricsListen}/metrics`);
    } catch (e) {
      log.error(`cannot start: ${(e as Error).message}`);
      await daemon.stop(3);
      return 3;
    }
  }
  if (process.env.HADHCP_TEST_HOOKS === '1') registerTestHooks(daemon, log);
  const stop = (sig: string) => {
    log.info(`received ${sig}, shutting down`);
    notifier?.stopping();
    void daemon.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('received SIGHUP, reloading configuration');
    void daemon.reload();
  });
  // The control socket is listening (Daemon.start returned): systemd may start what is ordered after us.
  notifier?.ready(() => systemdStatusLine(daemon));
  const code = await daemon.done;
  notifier?.close();
  await metrics?.close();
  return code;
}

/**
 * Test-only, and only with HADHCP_TEST_HOOKS=1 in the environment (test/lab/logging.test.ts), two control
 * commands that let a test end the real daemon at a chosen moment of its logging:
 * - `debug-log-burst` {"lines": N}: answers, then logs N info lines in one go (`debug-log-burst line i of N`).
 *   A test that waits for the answer before it signals the daemon knows that the burst is logged first.
 * - `debug-crash` {"how": "throw" | "reject"}: throws from a timer, or leaves a promise rejected, so that the fatal
 *   path (logged with its stack, flushed, exit 70) runs in the real process.
 */
function registerTestHooks(daemon: Daemon, log: Logger): void {
  daemon.control.register('debug-log-burst', (a) => {
    const n = typeof a.lines === 'number' ? a.lines : 0;
    // After the answer is written (setImmediate runs before the next poll for signals and connections).
    setImmediate(() => {
      for (let i = 1; i <= n; i++) log.info(`debug-log-burst line ${i} of ${n}`);
    });
    return { result: Result.SUCCESS, text: `logging ${n} lines` };
  });
  daemon.control.register('debug-crash', (a) => {
    const how = a.how === 'reject' ? 'reject' : 'throw';
    const e = new Error('debug-crash requested through the control socket');
    setTimeout(() => {
      if (how === 'reject') void Promise.reject(e);
      else throw e;
    }, 1);
    return { result: Result.SUCCESS, text: `crashing (${how})` };
  });
}
