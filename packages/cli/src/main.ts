#!/usr/bin/env node
import { Command, Option } from 'commander';
import { runCheckConfig } from './check-config.js';
import {
  runCtl,
  runFailoverAction,
  runFailoverStatus,
  runLeases,
  runSimpleCommand,
  runStatus,
} from './client-commands.js';
import { runImport } from './import.js';
import { runDaemonCommand } from './run.js';

export const DEFAULT_SOCKET = '/run/hadhcp/control.sock';
export const DEFAULT_STATE_DIR = '/var/lib/hadhcp';

const socketOpt = () =>
  new Option('--socket <path>', 'control socket of the daemon').default(
    process.env.HADHCP_SOCKET ?? DEFAULT_SOCKET,
  );

const program = new Command('hadhcp')
  .description(
    'High-availability DHCPv4 server with built-in VRRP (keepalived.conf and dhcpd.conf compatible)',
  )
  .showHelpAfterError();

program
  .command('run')
  .description('run the daemon in the foreground (systemd starts it this way)')
  .option('--dhcpd <file>', 'ISC dhcpd.conf to serve')
  .option('--keepalived <file>', 'keepalived.conf whose vrrp_instance blocks to run')
  .option('--state-dir <dir>', 'where leases are kept', DEFAULT_STATE_DIR)
  .addOption(socketOpt())
  .option('--interface <name...>', 'serve directly attached clients only on these interfaces')
  .option('--server-id <ip>', 'server identifier to use (default: the address the request came in on)')
  .option(
    '--metrics-listen <address:port>',
    'serve Prometheus metrics at http://ADDRESS:PORT/metrics, e.g. 127.0.0.1:9647 (default: off)',
  )
  .option(
    '--enable-execute',
    "run dhcpd.conf's execute(...) commands (off by default, as ISC builds dhcpd): without a shell, after the lease is on disk, at most 4 at once",
  )
  .option('--pretty', 'human-readable log lines instead of JSON')
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .addHelpText(
    'after',
    '\nExit status: 0 stopped (SIGTERM, SIGINT; 1 if stopping failed), 3 cannot start, 70 internal error (an\n' +
      'uncaught exception or unhandled rejection, logged at fatal level with its stack). The log is complete in\n' +
      'every case.',
  )
  .action(async (o) => {
    process.exitCode = await runDaemonCommand(o);
  });

program
  .command('check-config')
  .description('check dhcpd.conf and keepalived.conf; exit 0 ok, 3 cannot run, 4 errors (as keepalived -t)')
  .option('--dhcpd <file>', 'ISC dhcpd.conf')
  .option('--keepalived <file>', 'keepalived.conf')
  .option('--json', 'print the diagnostics as JSON')
  .action((o) => {
    process.exitCode = runCheckConfig(o);
  });

program
  .command('status')
  .description(
    'one screen: serving or not and why, VRRP role and priority, failover states and link, pool use, leases, the last events',
  )
  .addOption(socketOpt())
  .option('--json', "status-get's whole answer (arguments: @hadhcp/control's StatusReport, every event kept)")
  .action(async (o) => {
    process.exitCode = await runStatus(o);
  });

program
  .command('leases')
  .description('list leases (a table, or --json); `hadhcp leases import FILE` reads an ISC dhcpd.leases')
  .argument('[action]', '"import" to bring leases from an ISC dhcpd.leases file')
  .argument('[file]', 'the dhcpd.leases file to import')
  .addOption(socketOpt())
  .option('--json', 'raw JSON answer')
  .option('--all', 'include free and backup addresses')
  .option('--utc', 'times as dhcpd.leases writes them (weekday YYYY/MM/DD HH:MM:SS, UTC) instead of relative')
  .addHelpText(
    'after',
    '\nColumns use dhcpd.leases words: ends, cltt (client last transaction time) and, with failover, tstp (the\n' +
      'lease end the partner was told), tsfp (the end the partner acknowledged), atsfp (the actual time the\n' +
      'partner sent).',
  )
  .option('--state-dir <dir>', 'lease store to import into (the daemon must be stopped)', DEFAULT_STATE_DIR)
  .action(async (action: string | undefined, file: string | undefined, o) => {
    if (action === undefined) {
      process.exitCode = await runLeases(o);
    } else if (action === 'import' && file) {
      process.exitCode = await runImport(file, o);
    } else {
      console.error(
        `hadhcp leases: unknown action '${action}'${action === 'import' ? ' (missing FILE)' : ''}`,
      );
      console.error('usage: hadhcp leases [--json] | hadhcp leases import FILE [--state-dir DIR]');
      process.exitCode = 2;
    }
  });

program
  .command('partner-down')
  .description('put a failover relationship in partner-down: the partner is DOWN, serve all its clients')
  .argument('[relationship]', 'the `failover peer "NAME"` (needed when there are several)')
  .addOption(socketOpt())
  .option('--json', 'raw JSON answer')
  .addHelpText(
    'after',
    '\nWARNING: use this only when the partner is known to be down (powered off, or its DHCP service stopped)\n' +
      'and will serve no client before it can reach this server again. In partner-down this server answers\n' +
      "every client and, once MCLT has passed, hands out the partner's addresses too: if the partner is in fact\n" +
      'running, cut off by a broken link, both servers give the same addresses to different clients.\n' +
      "\nThis is the procedure of ISC dhcpd's omshell (`set local-state = 1` on the failover-state object), with\n" +
      'its rule: taken only from communications-interrupted or resolution-interrupted, with the link down;\n' +
      'otherwise the answer says why not and the state stays. When the partner comes back it asks this server\n' +
      'for every binding (recover), and both return to normal by themselves.\n' +
      '\nExit status: 0 in partner-down, 1 refused (the reason is printed), 3 the daemon cannot be reached.',
  )
  .action(async (relationship: string | undefined, o) => {
    process.exitCode = await runFailoverAction('failover-partner-down', relationship, o);
  });

program
  .command('handover')
  .description('planned move: the peer takes the VIP and answers; this router keeps its leases in sync')
  .addOption(socketOpt())
  .option('--cancel', 'end the handover: priority restored, the VIP comes back by preemption')
  .option('--json', 'raw JSON answer')
  .addHelpText(
    'after',
    '\nFor maintenance (Kea: ha-maintenance-start). Refused unless the peer is in failover normal and connected\n' +
      '(without failover: its VRRP adverts heard). This router lowers its VRRP priority (-253) and answers until the peer has\n' +
      "taken the VIP (after its Master_Down_Interval, by preemption, keepalived's default), so no request is lost;\n" +
      'it then stays away from the VIP until `hadhcp handover --cancel` (or a restart).\n' +
      '\nExit status: 0 done, 1 refused (the reason is printed), 3 the daemon cannot be reached.',
  )
  .action(async (o: { cancel?: boolean; json?: boolean; socket: string }) => {
    process.exitCode = await runSimpleCommand(o.cancel ? 'ha-maintenance-cancel' : 'ha-maintenance-start', o);
  });

const failover = program
  .command('failover')
  .description('DHCP failover relationships (`failover peer` blocks of dhcpd.conf): status, resync');

failover
  .command('status')
  .description('each relationship: states, link, serving, MCLT, updates, pool, key counters')
  .argument('[relationship]', 'only this `failover peer "NAME"`')
  .addOption(socketOpt())
  .option('--json', 'raw JSON answer (every counter)')
  .action(async (relationship: string | undefined, o) => {
    process.exitCode = await runFailoverStatus(relationship, o);
  });

failover
  .command('resync')
  .description('ask the partner for every binding again (UPDREQALL), staying in normal')
  .argument('[relationship]', 'the `failover peer "NAME"` (needed when there are several)')
  .addOption(socketOpt())
  .option('--json', 'raw JSON answer')
  .addHelpText(
    'after',
    '\nRefused (exit 1) when the relationship is not connected to its partner or not in normal.',
  )
  .action(async (relationship: string | undefined, o) => {
    process.exitCode = await runFailoverAction('failover-resync', relationship, o);
  });

program
  .command('ctl')
  .description('send one control command, e.g. `hadhcp ctl lease4-get \'{"ip-address":"10.1.0.60"}\'`')
  .argument('<command>', 'the command (list-commands shows them)')
  .argument('[json]', 'arguments as a JSON object')
  .addOption(socketOpt())
  .action(async (command: string, json: string | undefined, o) => {
    process.exitCode = await runCtl(command, json, o);
  });

await program.parseAsync(process.argv);
