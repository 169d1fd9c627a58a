// Shared by the core's tests only (not exported from the package).
import { parseIp4, type Ip4 } from '@hadhcp/common';
import { passwordAuthData, type Advert } from '../src/wire/advert.js';
import type { VrrpInstanceConfig, VrrpScript } from '../src/core/config.js';
import { initInstance, step } from '../src/core/machine.js';
import { instanceParams } from '../src/core/params.js';
import type { InstanceState, VrrpAction, VrrpEvent } from '../src/core/types.js';

export const ip = (s: string): Ip4 => parseIp4(s)!;
export const pos = { file: 'keepalived.conf', line: 1, col: 1 };
export const VIP = ip('10.0.0.10');
export const OWN = ip('10.0.0.2');
export const T0 = 1_700_000_000_000;

export function config(over: Partial<VrrpInstanceConfig> = {}): VrrpInstanceConfig {
  return {
    name: 'VI_1',
    initialState: 'BACKUP',
    interface: 'eth0',
    vrid: 51,
    priority: 100,
    advertInt: 1,
    auth: { type: 'PASS', pass: '1111' },
    virtualAddresses: [{ address: VIP, prefix: 24, dev: 'eth0', pos }],
    virtualAddressesExcluded: [],
    preempt: true,
    preemptDelay: 0,
    unicastPeers: [],
    trackInterfaces: [],
    trackScripts: [],
    pos,
    ...over,
  };
}

export const chkDhcp = (weight: number): VrrpScript => ({
  name: 'chk_dhcp',
  script: '/bin/true',
  interval: 2,
  timeout: 2,
  weight,
  rise: 2,
  fall: 2,
  pos,
});

export function instance(over: Partial<VrrpInstanceConfig> = {}, scripts: VrrpScript[] = []): InstanceState {
  return initInstance(instanceParams(config(over), undefined, scripts).params);
}

export function advert(priority: number, over: Partial<Advert> = {}): Advert {
  return {
    vrid: 51,
    priority,
    authType: 1,
    advertInt: 1,
    addresses: [VIP],
    authData: passwordAuthData('1111'),
    ...over,
  };
}

export function rx(priority: number, src: string, over: Partial<Advert> = {}, ttl = 255): VrrpEvent {
  return { type: 'advert', packet: { advert: advert(priority, over), srcIp: ip(src), ttl, iface: 'eth0' } };
}

/** Runs events in order at the given times, returning the final state and the actions of the last one. */
export function run(
  s: InstanceState,
  events: [VrrpEvent, number][],
): { state: InstanceState; actions: VrrpAction[] } {
  let actions: VrrpAction[] = [];
  for (const [e, t] of events) ({ state: s, actions } = step(s, e, t));
  return { state: s, actions };
}

export function started(over: Partial<VrrpInstanceConfig> = {}, scripts: VrrpScript[] = []): InstanceState {
  return step(instance(over, scripts), { type: 'startup', ownIp: OWN }, T0).state;
}

/** An instance that became master at T0 + Master_Down_Interval. */
export function mastered(over: Partial<VrrpInstanceConfig> = {}, scripts: VrrpScript[] = []): InstanceState {
  const b = started(over, scripts);
  return step(b, { type: 'timer', key: 'master-down' }, b.timers['master-down']!).state;
}

export const logs = (a: VrrpAction[]) => a.flatMap((x) => (x.type === 'log' ? [x.message] : []));
export const types = (a: VrrpAction[]) => a.map((x) => x.type);
export const sentPriorities = (a: VrrpAction[]) =>
  a.flatMap((x) => (x.type === 'send-advert' ? [x.advert.priority] : []));
