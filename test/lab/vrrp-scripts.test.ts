// Scripts through the real daemon: notify scripts in transition order with keepalived's arguments (a slow one never
// races the next), script_user / `user`, and enable_script_security refusing scripts others could modify.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import { messages, nodeStatus, segment, startNode, until } from './vrrp-node.js';

const skip = requireRoot();

/** An executable root-owned script (the lab runs as root) with mode `mode`. */
function script(path: string, body: string, mode = 0o755): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

describe.skipIf(skip)('VRRP scripts', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  it('notify scripts run one at a time in transition order, with keepalived arguments, as script_user', async () => {
    lab = new Lab();
    chmodSync(lab.dir, 0o755); // scripts run as nobody must reach their files
    await segment(lab, ['r1']);
    const out = lab.file('out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const log = `${out}/notify.log`;
    // Slow on purpose: were two started together, their begin/done lines would interleave.
    const n = script(
      lab.file('notify.sh'),
      `echo "begin $* as $(id -un)" >> ${log}\nsleep 0.3\necho "done $*" >> ${log}`,
    );
    const chk = script(lab.file('chk.sh'), `id -un > ${out}/chk-user\nexit 0`);
    const node = await startNode(lab, 'r1', {
      scriptUser: 'nobody',
      instances: [
        {
          priority: 100,
          state: 'MASTER',
          notify: n,
          notifyMaster: `${n} master`,
          notifyBackup: `${n} backup`,
          script: { path: chk, weight: -20, user: 'root' },
        },
      ],
    });
    await node.proc.waitForLine(/Entering MASTER STATE/, 5000);
    await until(async () => existsSync(`${out}/chk-user`), 3000, 'the check script to run');
    expect(readFileSync(`${out}/chk-user`, 'utf8').trim()).toBe('root'); // vrrp_script's own `user`
    node.proc.kill('SIGTERM');
    await node.proc.exit; // the daemon waits for its notify scripts before it exits
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toEqual([
      'begin backup as nobody',
      'done backup',
      'begin INSTANCE VI_1 BACKUP 100 as nobody',
      'done INSTANCE VI_1 BACKUP 100',
      'begin master as nobody',
      'done master',
      'begin INSTANCE VI_1 MASTER 100 as nobody',
      'done INSTANCE VI_1 MASTER 100',
      'begin INSTANCE VI_1 STOP 100 as nobody',
      'done INSTANCE VI_1 STOP 100',
    ]);
  });

  it('enable_script_security: scripts in a world-writable directory are refused, logged once, never run', async () => {
    lab = new Lab();
    chmodSync(lab.dir, 0o755);
    await segment(lab, ['r1']);
    const open = lab.file('open');
    mkdirSync(open);
    chmodSync(open, 0o777); // anyone could replace what root would run
    const chk = script(`${open}/chk.sh`, `touch ${lab.dir}/chk-ran\nexit 1`);
    const nm = script(`${open}/master.sh`, `touch ${lab.dir}/notify-ran`);
    const node = await startNode(lab, 'r1', {
      scriptUser: 'root',
      instances: [{ priority: 100, state: 'MASTER', notifyMaster: nm, script: { path: chk, weight: -50 } }],
    });
    await node.proc.waitForLine(/Entering MASTER STATE/, 5000);
    await new Promise((r) => setTimeout(r, 2500)); // two check intervals
    expect(existsSync(`${lab.dir}/chk-ran`)).toBe(false);
    expect(existsSync(`${lab.dir}/notify-ran`)).toBe(false);
    const refusals = messages(node).filter((m) => m.startsWith('Disabling '));
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatch(
      /^Disabling track script chk_VI_1 due to insecure: .*open is writable by everyone.*fix: /,
    );
    expect(refusals[1]).toMatch(/^Disabling notify script of VI_1 due to insecure: /);
    const [st] = await nodeStatus(node);
    // keepalived removes a refused track script from the instance: its weight no longer applies.
    expect(st).toMatchObject({ state: 'MASTER', effectivePriority: 100 });
    expect(st!.disabledScripts).toEqual(['track script chk_VI_1', 'notify script of VI_1']);
  });
});
