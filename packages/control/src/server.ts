import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  isResponse,
  MAX_REQUEST_BYTES,
  parseRequest,
  Result,
  type CommandHandler,
  type ControlResponse,
} from './protocol.js';

export interface ControlServerOptions {
  /** File mode of the socket; 0660 so that an operators' group can use the CLI without root. */
  mode?: number;
  /** Called for each request with the command name (for the daemon's debug log). */
  onRequest?: (command: string) => void;
}

/**
 * A Unix stream socket answering one JSON command per connection. Commands are registered explicitly by
 * the daemon (`register`), never as a side effect of imports.
 */
export class ControlServer {
  private readonly handlers = new Map<string, CommandHandler>();
  private server: Server | undefined;

  constructor(
    readonly path: string,
    private readonly opts: ControlServerOptions = {},
  ) {
    this.register('list-commands', () => ({
      result: Result.SUCCESS,
      arguments: [...this.handlers.keys()].sort(),
    }));
  }

  register(command: string, handler: CommandHandler): void {
    this.handlers.set(command, handler);
  }

  async listen(): Promise<void> {
    await removeStaleSocket(this.path);
    const server = createServer((sock) => this.onConnection(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, this.opts.mode ?? 0o660);
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  /** Runs a command in-process (used by the daemon for SIGHUP reload and by tests). */
  async dispatch(command: string, args: Record<string, unknown> = {}): Promise<ControlResponse> {
    const h = this.handlers.get(command);
    if (!h) {
      return { result: Result.UNSUPPORTED, text: `'${command}' command not supported` };
    }
    try {
      return await h(args);
    } catch (e) {
      return { result: Result.ERROR, text: `${command} failed: ${(e as Error).message}` };
    }
  }

  private onConnection(sock: Socket): void {
    let buf = '';
    let answered = false;
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      if (answered) return;
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) {
        answered = true;
        this.reply(sock, { result: Result.ERROR, text: `request larger than ${MAX_REQUEST_BYTES} bytes` });
        return;
      }
      // Kea reads until the text parses as one JSON value; a client need not half-close.
      const parsed = parseRequest(buf);
      if (isResponse(parsed)) {
        if (parsed.text?.startsWith('invalid JSON') && !looksComplete(buf)) return; // wait for more
        answered = true;
        this.reply(sock, parsed);
        return;
      }
      answered = true;
      this.opts.onRequest?.(parsed.command);
      void this.dispatch(parsed.command, parsed.arguments ?? {}).then((r) => this.reply(sock, r));
    });
    sock.on('end', () => {
      if (!answered && buf.trim().length > 0) {
        answered = true;
        const parsed = parseRequest(buf);
        if (isResponse(parsed)) this.reply(sock, parsed);
      } else if (!answered) {
        sock.end();
      }
    });
  }

  private reply(sock: Socket, r: ControlResponse): void {
    if (sock.destroyed) return;
    sock.end(JSON.stringify(r) + '\n');
  }
}

/** A complete JSON object ends with its closing brace (possibly followed by white space). */
function looksComplete(text: string): boolean {
  return /}\s*$/.test(text);
}

/**
 * A daemon killed with -9 leaves its socket file behind. Remove it only when nothing answers on it, so a
 * second daemon never steals a live one's socket.
 */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new Error(`${path} exists and is not a socket; remove it or choose another --socket`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive)
    throw new Error(`another daemon is answering on ${path}; stop it first or choose another --socket`);
  unlinkSync(path);
}
