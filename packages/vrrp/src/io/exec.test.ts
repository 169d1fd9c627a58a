import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupUser, processIdentity, resolveUser, ShellScriptRunner } from './exec.js';

const dir = mkdtempSync(join(tmpdir(), 'hadhcp-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const errno = (code: string, message: string): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code, syscall: 'spawn' });

describe('ShellScriptRunner: a script that cannot start is a result, never a throw', () => {
  it('runs a command line with appended arguments and reports its exit status', async () => {
    const r = await new ShellScriptRunner().run('exit $(($# + 3))', ['a', 'b'], {});
    expect(r).toEqual({ code: 5, signal: undefined, timedOut: false });
  });

  it('spawn() throwing EPERM synchronously (setuid refused in the child) resolves with errorCode EPERM', async () => {
    // What Node does for a uid it cannot switch to: the throw comes out of spawn() itself, not as 'error'.
    const throwing = (() => {
      throw errno('EPERM', 'spawn EPERM');
    }) as unknown as typeof spawn;
    const runner = new ShellScriptRunner({ spawn: throwing, lookupUser: () => ({ uid: 0, gid: 0 }) });
    const r = await runner.run('/bin/true', [], { user: { user: 'root' }, timeoutMs: 1000 });
    expect(r).toEqual({
      code: undefined,
      signal: undefined,
      timedOut: false,
      error: 'spawn EPERM',
      errorCode: 'EPERM',
    });
  });

  it('a shell that does not exist: ENOENT through the error event', async () => {
    const r = await new ShellScriptRunner({ shell: join(dir, 'no-such-sh') }).run('/bin/true', [], {
      timeoutMs: 1000,
    });
    expect(r).toMatchObject({ code: undefined, errorCode: 'ENOENT' });
    expect(r.error).toMatch(/ENOENT/);
  });

  it('a shell that is not executable: EACCES', async () => {
    const sh = join(dir, 'not-exec-sh');
    writeFileSync(sh, '#!/bin/sh\n');
    chmodSync(sh, 0o644);
    const r = await new ShellScriptRunner({ shell: sh }).run('/bin/true', [], {});
    expect(r).toMatchObject({ code: undefined, errorCode: 'EACCES' });
  });

  it('a user that does not exist: not started, errorCode unknown-user, nothing spawned', async () => {
    let spawned = 0;
    const counting = (() => {
      spawned++;
      throw new Error('must not be called');
    }) as unknown as typeof spawn;
    const r = await new ShellScriptRunner({ spawn: counting }).run('/bin/true', [], {
      user: { user: 'hadhcp-no-such-user-x' },
    });
    expect(r).toMatchObject({ errorCode: 'unknown-user', error: 'unknown user hadhcp-no-such-user-x' });
    expect(spawned).toBe(0);
  });
});

describe('user lookup', () => {
  const files: Record<string, string> = {
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nhadhcp:x:998:997::/var/lib/hadhcp:/usr/sbin/nologin\n',
    '/etc/group': 'root:x:0:\nnetdev:x:108:\n',
  };
  const read = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw errno('EACCES', `EACCES: permission denied, open '${p}'`);
    return t;
  };

  it('finds users and groups; an unknown one is a reason, not a throw', () => {
    expect(lookupUser({ user: 'hadhcp' }, read)).toEqual({ uid: 998, gid: 997 });
    expect(lookupUser({ user: 'hadhcp', group: 'netdev' }, read)).toEqual({ uid: 998, gid: 108 });
    expect(lookupUser({ user: 'ghost' }, read)).toEqual({
      code: 'unknown-user',
      message: 'unknown user ghost',
    });
    expect(lookupUser({ user: 'root', group: 'wheel' }, read)).toMatchObject({ code: 'unknown-group' });
  });

  it('an unreadable /etc/passwd (ProtectSystem, a chroot) is a reason too', () => {
    const none = (p: string): string => {
      throw errno('EACCES', `EACCES: permission denied, open '${p}'`);
    };
    expect(lookupUser({ user: 'root' }, none)).toEqual({
      code: 'user-lookup',
      message: 'cannot read /etc/passwd (EACCES) to look up root',
    });
    expect(resolveUser({ user: 'root' }, none)).toBe('cannot read /etc/passwd (EACCES) to look up root');
  });
});

describe('processIdentity', () => {
  const status = (capEff: string) => (p: string) =>
    p === '/proc/self/status' ? `Name:\tnode\nCapInh:\t0\nCapEff:\t${capEff}\n` : '';

  it('the unit file capability set (NET_ADMIN, NET_RAW, NET_BIND_SERVICE) cannot switch users', () => {
    const id = processIdentity(status('0000000000003400'));
    expect(id).toMatchObject({ canSetUid: false, canSetGid: false });
  });

  it('CAP_SETUID and CAP_SETGID read from their bits (7 and 6)', () => {
    expect(processIdentity(status('0000000000000080'))).toMatchObject({ canSetUid: true, canSetGid: false });
    expect(processIdentity(status('0000000000000040'))).toMatchObject({ canSetUid: false, canSetGid: true });
    expect(processIdentity(status('000001ffffffffff'))).toMatchObject({ canSetUid: true, canSetGid: true });
  });

  it('without /proc, root is assumed able to switch and others not', () => {
    const id = processIdentity(() => {
      throw errno('ENOENT', 'no /proc');
    });
    const root = process.getuid?.() === 0;
    expect(id).toMatchObject({ canSetUid: root, canSetGid: root });
  });
});
