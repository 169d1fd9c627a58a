#!/usr/bin/env node
import { Command, Option } from 'commander';
import { runCheckConfig } from './check-config.js';
import { runCtl, runLeases, runStatus } from './client-commands.js';
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
  .description("the daemon's state: DHCP service, leases, VRRP instances, drops")
  .addOption(socketOpt())
  .option('--json', 'raw JSON answer')
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
  .command('ctl')
  .description('send one control command, e.g. `hadhcp ctl lease4-get \'{"ip-address":"10.1.0.60"}\'`')
  .argument('<command>', 'the command (list-commands shows them)')
  .argument('[json]', 'arguments as a JSON object')
  .addOption(socketOpt())
  .action(async (command: string, json: string | undefined, o) => {
    process.exitCode = await runCtl(command, json, o);
  });

await program.parseAsync(process.argv);
