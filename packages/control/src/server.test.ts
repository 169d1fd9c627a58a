import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from './client.js';
import { Result } from './protocol.js';
import { ControlServer } from './server.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(): Promise<ControlServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hadhcp-ctl-'));
  const s = new ControlServer(join(dir, 'ctl.sock'));
  s.register('echo', (args) => ({ result: Result.SUCCESS, text: 'ok', arguments: args }));
  s.register('boom', () => {
    throw new Error('kaboom');
  });
  await s.listen();
  servers.push(s);
  return s;
}

function raw(path: string, text: string, halfClose: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let out = '';
    c.setEncoding('utf8');
    c.on('connect', () => (halfClose ? c.end(text) : c.write(text)));
    c.on('data', (d: string) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

describe('control socket', () => {
  it('answers a command in the Kea shape and creates the socket with mode 0660', async () => {
    const s = await start();
    const r = await controlRequest(s.path, 'echo', { a: 1 });
    expect(r).toEqual({ result: 0, text: 'ok', arguments: { a: 1 } });
    expect(statSync(s.path).mode & 0o777).toBe(0o660);
  });

  it('says "not supported" (result 2) for an unknown command and lists the known ones', async () => {
    const s = await start();
    expect((await controlRequest(s.path, 'nope')).result).toBe(Result.UNSUPPORTED);
    const l = await controlRequest(s.path, 'list-commands');
    expect(l.arguments).toEqual(['boom', 'echo', 'list-commands']);
  });

  it('turns a throwing handler into result 1 with the reason, and keeps serving', async () => {
    const s = await start();
    const r = await controlRequest(s.path, 'boom');
    expect(r.result).toBe(Result.ERROR);
    expect(r.text).toContain('kaboom');
    expect((await controlRequest(s.path, 'echo')).result).toBe(0);
  });

  it('answers malformed requests with result 1 instead of hanging or crashing', async () => {
    const s = await start();
    expect(JSON.parse(await raw(s.path, '{"command": 5}', false)).result).toBe(1);
    expect(JSON.parse(await raw(s.path, 'not json', true)).result).toBe(1);
    expect(JSON.parse(await raw(s.path, '[1,2]', false)).result).toBe(1);
  });

  it('accepts a request split over several writes (socat style, no half-close)', async () => {
    const s = await start();
    const out = await new Promise<string>((resolve) => {
      const c = createConnection(s.path);
      let o = '';
      c.setEncoding('utf8');
      c.on('connect', () => {
        c.write('{"command": "ec');
        setTimeout(() => c.write('ho"}'), 20);
      });
      c.on('data', (d: string) => (o += d));
      c.on('end', () => resolve(o));
    });
    expect(JSON.parse(out).result).toBe(0);
  });

  it('replaces a stale socket file but refuses to steal a live one', async () => {
    const s = await start();
    const twin = new ControlServer(s.path);
    await expect(twin.listen()).rejects.toThrow(/another daemon/);
    const dir = mkdtempSync(join(tmpdir(), 'hadhcp-ctl-'));
    const notSock = join(dir, 'file');
    writeFileSync(notSock, 'x');
    await expect(new ControlServer(notSock).listen()).rejects.toThrow(/not a socket/);
  });

  it('tells the operator what is wrong when no daemon runs', async () => {
    await expect(controlRequest('/nonexistent/ctl.sock', 'status-get')).rejects.toThrow(/is hadhcp running/);
  });
});
