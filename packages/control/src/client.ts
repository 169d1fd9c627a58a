import { createConnection } from 'node:net';
import type { ControlResponse } from './protocol.js';

export class ControlClientError extends Error {}

/** Sends one command and returns the daemon's answer. Rejects with a message an operator can act on. */
export function controlRequest(
  path: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlClientError(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      sock.write(JSON.stringify(args ? { command, arguments: args } : { command }));
    });
    sock.on('data', (d: string) => (buf += d));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        e.code === 'ENOENT'
          ? `no control socket at ${path}: is hadhcp running? (choose another with --socket)`
          : e.code === 'EACCES'
            ? `permission denied on ${path}: run as root or as a member of the socket's group`
            : e.code === 'ECONNREFUSED'
              ? `nothing listens on ${path}: hadhcp is not running (stale socket file)`
              : `${path}: ${e.message}`;
      reject(new ControlClientError(why));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        reject(new ControlClientError(`unreadable answer from ${path}: ${buf.slice(0, 200)}`));
      }
    });
  });
}
