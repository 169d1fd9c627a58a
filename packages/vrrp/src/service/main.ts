import { readFileSync } from 'node:fs';
import type { KeepalivedConfig } from '../core/config.js';
import { VrrpService } from './service.js';
import type { VrrpLogger } from './types.js';

/**
 * A stand-alone VRRP node: `node dist/service/main.js <config.json>` where the file is a KeepalivedConfig as JSON
 * (addresses as 32-bit numbers). The daemon reads keepalived.conf itself; this entry exists so the lab can run
 * nodes as real processes (kill -9 them, restart them). SIGTERM/SIGINT stop gracefully; SIGUSR1 prints
 * `STATUS <json>` on stdout.
 */
function consoleLogger(): VrrpLogger {
  const line = (level: string) => (msg: string) =>
    process.stdout.write(`${new Date().toISOString()} ${level} ${msg}\n`);
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR'), debug: line('DEBUG') };
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write('usage: main.js <keepalived-config.json>\n');
    process.exit(2);
  }
  const config = JSON.parse(readFileSync(path, 'utf8')) as KeepalivedConfig;
  const log = consoleLogger();
  const service = new VrrpService(config, { log });
  service.on('state', (c) => process.stdout.write(`STATE ${JSON.stringify(c)}\n`));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log.info('Stopping');
    service.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error(`stop failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGUSR1', () => process.stdout.write(`STATUS ${JSON.stringify(service.status())}\n`));
  await service.start();
  log.info('VRRP service started');
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
