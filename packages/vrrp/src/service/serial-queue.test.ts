import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SerialQueue', () => {
  it('runs jobs in order, never two at once, even when an earlier job is slower', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      running--;
    };
    void q.push(job('master', 30));
    void q.push(job('backup', 1));
    await q.push(job('fault', 5));
    expect(log).toEqual([
      'start master',
      'end master',
      'start backup',
      'end backup',
      'start fault',
      'end fault',
    ]);
  });

  it('keeps going after a job fails', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    void q.push(async () => {
      throw new Error('boom');
    });
    await q.push(async () => {
      log.push('ran');
    });
    expect(log).toEqual(['ran']);
    expect(q.size).toBe(0);
  });
});
