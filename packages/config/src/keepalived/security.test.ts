import { describe, expect, it } from 'vitest';
import { type FileInfo, type ScriptFs, checkScriptSecurity, resolveUser, scriptProgram } from './security.js';

const dir = (mode = 0o755, uid = 0, gid = 0): FileInfo => ({ uid, gid, mode, kind: 'dir' });
const file = (mode = 0o755, uid = 0, gid = 0): FileInfo => ({ uid, gid, mode, kind: 'file' });

/** A described tree; symlinks map a path to its target. */
function tree(nodes: Record<string, FileInfo>, links: Record<string, string> = {}): ScriptFs {
  const resolve = (p: string): string => {
    for (const [from, to] of Object.entries(links))
      if (p === from || p.startsWith(from + '/')) return to + p.slice(from.length);
    return p;
  };
  return {
    lstat: (p) => (links[p] ? { uid: 0, gid: 0, mode: 0o777, kind: 'symlink' } : nodes[resolve(p)]),
    stat: (p) => nodes[resolve(p)],
    realpath: (p) => (nodes[resolve(p)] ? resolve(p) : undefined),
  };
}

const ROOT = { uid: 0, gid: 0 };
const base = { '/': dir(), '/etc': dir(), '/etc/k': dir(), '/etc/k/n.sh': file() };

describe('checkScriptSecurity (keepalived script security)', () => {
  it('accepts a root-owned script in root-owned, non-writable directories', () => {
    expect(checkScriptSecurity('/etc/k/n.sh', ROOT, tree(base))).toEqual({ ok: true });
  });

  it('refuses a directory writable by others, naming it', () => {
    const r = checkScriptSecurity('/etc/k/n.sh', ROOT, tree({ ...base, '/etc/k': dir(0o757) }));
    expect(r).toEqual({ ok: false, reason: '/etc/k is writable by everyone, and the script runs as root' });
  });

  it('refuses a script owned by a non-root user', () => {
    const r = checkScriptSecurity('/etc/k/n.sh', ROOT, tree({ ...base, '/etc/k/n.sh': file(0o755, 1000) }));
    expect(r.reason).toBe('/etc/k/n.sh is owned by uid 1000, not root, and the script runs as root');
  });

  it('refuses group write for a non-root group, allows it for group root', () => {
    expect(
      checkScriptSecurity('/etc/k/n.sh', ROOT, tree({ ...base, '/etc/k/n.sh': file(0o775, 0, 50) })).ok,
    ).toBe(false);
    expect(
      checkScriptSecurity('/etc/k/n.sh', ROOT, tree({ ...base, '/etc/k/n.sh': file(0o775, 0, 0) })).ok,
    ).toBe(true);
  });

  it('lets a root-owned sticky directory (like /tmp) pass, but not a non-sticky world-writable one', () => {
    const nodes = { '/': dir(), '/tmp': dir(0o1777), '/tmp/n.sh': file() };
    expect(checkScriptSecurity('/tmp/n.sh', ROOT, tree(nodes)).ok).toBe(true);
    expect(checkScriptSecurity('/tmp/n.sh', ROOT, tree({ ...nodes, '/tmp': dir(0o777) })).ok).toBe(false);
  });

  it('checks directories as resolved (/bin -> /usr/bin) and the symlink target of the script', () => {
    const nodes = { '/': dir(), '/usr': dir(), '/usr/bin': dir(), '/usr/bin/true': file() };
    expect(checkScriptSecurity('/bin/true', ROOT, tree(nodes, { '/bin': '/usr/bin' }))).toEqual({ ok: true });
    const evil = { ...base, '/home': dir(), '/home/u': dir(0o755, 1000), '/home/u/x.sh': file(0o755, 1000) };
    const r = checkScriptSecurity('/etc/k/n.sh', ROOT, tree(evil, { '/etc/k/n.sh': '/home/u/x.sh' }));
    expect(r.reason).toBe('/home/u is owned by uid 1000, not root, and the script runs as root');
  });

  it('does not require root ownership when the script runs as an ordinary user', () => {
    const nodes = { ...base, '/etc/k': dir(0o777, 1000, 1000), '/etc/k/n.sh': file(0o755, 1000, 1000) };
    expect(checkScriptSecurity('/etc/k/n.sh', { uid: 1000, gid: 1000 }, tree(nodes))).toEqual({ ok: true });
    // ...unless the file is set-uid root: then it runs as root whoever starts it.
    const suid = { ...nodes, '/etc/k/n.sh': file(0o4755, 0, 0) };
    expect(checkScriptSecurity('/etc/k/n.sh', { uid: 1000, gid: 1000 }, tree(suid)).ok).toBe(false);
  });

  it('refuses missing and non-executable scripts, and relative paths', () => {
    expect(checkScriptSecurity('/etc/k/none.sh', ROOT, tree(base)).reason).toMatch(/does not exist/);
    expect(
      checkScriptSecurity('/etc/k/n.sh', ROOT, tree({ ...base, '/etc/k/n.sh': file(0o644) })).reason,
    ).toMatch(/not executable/);
    expect(checkScriptSecurity('n.sh', ROOT, tree(base), '/etc/k')).toEqual({ ok: true });
    expect(checkScriptSecurity('./n.sh', ROOT, tree(base)).reason).toMatch(/relative path/);
  });

  it('passes a real root-owned system binary on this machine when run as root', () => {
    // /usr/bin/env exists on every Linux we run on and is installed root:root 0755 under root-owned directories.
    expect(checkScriptSecurity('/usr/bin/env', ROOT)).toEqual({ ok: true });
  });
});

describe('helpers', () => {
  it('scriptProgram takes the program of a command line', () => {
    expect(scriptProgram('  /etc/k/n.sh master  VI_1')).toBe('/etc/k/n.sh');
  });
  it('resolveUser reads passwd and group text', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\ndhcp:x:101:102::/nonexistent:/usr/sbin/nologin\n';
    const groups = 'root:x:0:\nnetdev:x:108:\n';
    expect(resolveUser('dhcp', undefined, passwd, groups)).toEqual({ uid: 101, gid: 102 });
    expect(resolveUser('dhcp', 'netdev', passwd, groups)).toEqual({ uid: 101, gid: 108 });
    expect(resolveUser('nobody', undefined, passwd, groups)).toBeUndefined();
    expect(resolveUser('dhcp', 'wheel', passwd, groups)).toBeUndefined();
  });
});
