/**
 * Keywords keepalived 2.2 knows but hadhcp does not implement, and what we say about them. Our stance: a keyword
 * whose absence changes what the network sees (packets, addresses, routes, firewall) is an error, so the daemon
 * never runs something other than what the file asks for; one that only concerns keepalived's own process,
 * logging or e-mail is a note. Typos of implemented keywords get a did-you-mean error.
 */
export interface Stance {
  severity: 'error' | 'warning' | 'note';
  why: string;
}

const NO_EFFECT: Stance = { severity: 'note', why: 'has no effect in hadhcp' };
const mail: Stance = {
  severity: 'note',
  why: 'has no effect in hadhcp (no e-mail alerts; watch `hadhcp status` or the notify scripts)',
};
const proc: Stance = {
  severity: 'note',
  why: "has no effect in hadhcp (it tunes keepalived's own processes)",
};
const lvs: Stance = { severity: 'error', why: 'hadhcp has no LVS/IPVS load balancer; run keepalived for it' };

export const TOP_KNOWN = new Map<string, Stance>([
  ['virtual_server', lvs],
  ['virtual_server_group', lvs],
  ['bfd_instance', { severity: 'error', why: 'hadhcp has no BFD' }],
  [
    'static_ipaddress',
    { severity: 'error', why: 'hadhcp does not add static addresses; configure them in the OS' },
  ],
  [
    'static_routes',
    { severity: 'error', why: 'hadhcp does not add static routes; configure them in the OS' },
  ],
  ['static_rules', { severity: 'error', why: 'hadhcp does not add routing rules; configure them in the OS' }],
  [
    'vrrp_track_file',
    { severity: 'error', why: 'track files are not implemented; use a vrrp_script that reads the file' },
  ],
  [
    'track_file',
    { severity: 'error', why: 'track files are not implemented; use a vrrp_script that reads the file' },
  ],
  [
    'vrrp_track_process',
    { severity: 'error', why: 'process tracking is not implemented; use a vrrp_script (e.g. pidof)' },
  ],
  [
    'net_namespace',
    { severity: 'error', why: 'hadhcp does not switch network namespaces; start it inside the namespace' },
  ],
  ['linkbeat_interfaces', NO_EFFECT],
  ['instance', proc],
]);

export const GLOBAL_KNOWN = new Map<string, Stance>([
  ['notification_email', mail],
  ['notification_email_from', mail],
  ['smtp_server', mail],
  ['smtp_connect_timeout', mail],
  ['smtp_helo_name', mail],
  ['smtp_alert', mail],
  ['smtp_alert_vrrp', mail],
  ['smtp_alert_checker', mail],
  ['email_faults', mail],
  ['lvs_id', NO_EFFECT],
  ['lvs_sync_daemon', lvs],
  ['lvs_flush', NO_EFFECT],
  [
    'vrrp_skip_check_adv_addr',
    {
      severity: 'note',
      why: 'has no effect in hadhcp (an address list mismatch is only logged, as keepalived 2.x does)',
    },
  ],
  ['vrrp_check_unicast_src', NO_EFFECT],
  ['vrrp_iptables', { severity: 'note', why: 'has no effect in hadhcp (it adds no firewall rules)' }],
  ['vrrp_ipsets', { severity: 'note', why: 'has no effect in hadhcp (it adds no firewall rules)' }],
  ['vrrp_nftables', { severity: 'note', why: 'has no effect in hadhcp (it adds no firewall rules)' }],
  ['max_auto_priority', proc],
  ['vrrp_priority', proc],
  ['checker_priority', proc],
  ['bfd_priority', proc],
  ['vrrp_no_swap', proc],
  ['checker_no_swap', proc],
  ['vrrp_rt_priority', proc],
  ['vrrp_cpu_affinity', proc],
  ['process_names', proc],
  ['vrrp_process_name', proc],
  ['checker_process_name', proc],
  ['enable_traps', NO_EFFECT],
  ['snmp_socket', NO_EFFECT],
  ['enable_snmp_vrrp', NO_EFFECT],
  ['enable_snmp_keepalived', NO_EFFECT],
  ['enable_snmp_rfc', NO_EFFECT],
  ['enable_snmp_rfcv2', NO_EFFECT],
  ['enable_snmp_checker', NO_EFFECT],
  ['dynamic_interfaces', NO_EFFECT],
  [
    'vrrp_notify_fifo',
    { severity: 'note', why: 'has no effect in hadhcp (use notify scripts or the control socket)' },
  ],
  [
    'notify_fifo',
    { severity: 'note', why: 'has no effect in hadhcp (use notify scripts or the control socket)' },
  ],
  [
    'vrrp_garp_interval',
    { severity: 'note', why: 'has no effect in hadhcp (gratuitous ARPs of one burst go out back to back)' },
  ],
  ['vrrp_gna_interval', { severity: 'note', why: 'has no effect in hadhcp (IPv4 only)' }],
  ['vrrp_lower_prio_no_advert', NO_EFFECT],
  ['vrrp_higher_prio_send_advert', NO_EFFECT],
  ['vrrp_garp_lower_prio_delay', NO_EFFECT],
  ['vrrp_garp_lower_prio_repeat', NO_EFFECT],
  ['vrrp_min_garp', NO_EFFECT],
  [
    'vrrp_startup_delay',
    {
      severity: 'error',
      why: 'is not implemented: hadhcp would take over sooner after boot than this file asks',
    },
  ],
  [
    'vrrp_mcast_group4',
    {
      severity: 'error',
      why: 'is not implemented: hadhcp always sends adverts to 224.0.0.18 (RFC 3768 5.2.2)',
    },
  ],
  ['vrrp_mcast_group6', { severity: 'note', why: 'has no effect in hadhcp (IPv4 only)' }],
  [
    'vrrp_strict',
    {
      severity: 'error',
      why: 'is not implemented: keepalived then drops all traffic to the VIPs with firewall rules and refuses authentication and unicast; hadhcp adds no rules, so the network would see reachable VIPs',
    },
  ],
  [
    'script_security',
    { severity: 'error', why: 'is not a keepalived keyword; the keyword is enable_script_security' },
  ],
]);

export const INSTANCE_KNOWN = new Map<string, Stance>([
  ['smtp_alert', mail],
  ['debug', NO_EFFECT],
  ['notify_master_rx_lower_pri', NO_EFFECT],
  ['notify_priority_changes', NO_EFFECT],
  ['skip_check_adv_addr', NO_EFFECT],
  ['check_unicast_src', NO_EFFECT],
  ['lower_prio_no_advert', NO_EFFECT],
  ['higher_prio_send_advert', NO_EFFECT],
  ['garp_lower_prio_delay', NO_EFFECT],
  ['garp_lower_prio_repeat', NO_EFFECT],
  ['kernel_rx_buf_size', NO_EFFECT],
  ['linkbeat_use_polling', NO_EFFECT],
  ['promote_secondaries', NO_EFFECT],
  [
    'accept',
    {
      severity: 'note',
      why: 'has no effect in hadhcp (VRRPv2 without strict mode accepts packets to the VIP anyway)',
    },
  ],
  [
    'no_accept',
    { severity: 'error', why: 'is not implemented: hadhcp adds no rules dropping traffic to the VIPs' },
  ],
  [
    'dont_track_primary',
    {
      severity: 'warning',
      why: "is not implemented: hadhcp still goes to FAULT when the instance's interface loses its link",
    },
  ],
  [
    'use_vmac',
    {
      severity: 'error',
      why: 'is not implemented: hadhcp sends from the interface MAC, not 00:00:5e:00:01:VRID',
    },
  ],
  ['vmac_xmit_base', { severity: 'error', why: 'is not implemented (no VMAC support)' }],
  ['native_ipv6', { severity: 'error', why: 'hadhcp is IPv4 only' }],
  [
    'mcast_src_ip',
    {
      severity: 'error',
      why: "is not implemented: hadhcp sends adverts from the interface's primary address (RFC 3768 5.1.1.1)",
    },
  ],
  [
    'unicast_ttl',
    { severity: 'error', why: 'is not implemented: hadhcp sends unicast adverts with TTL 255' },
  ],
  ['strict_mode', GLOBAL_KNOWN.get('vrrp_strict')!],
  ['version', { severity: 'error', why: 'only VRRP version 2 (RFC 3768) is implemented' }],
  [
    'virtual_routes',
    { severity: 'error', why: 'is not implemented: hadhcp moves addresses only, not routes' },
  ],
  [
    'virtual_rules',
    { severity: 'error', why: 'is not implemented: hadhcp moves addresses only, not routing rules' },
  ],
  ['track_file', TOP_KNOWN.get('track_file')!],
  ['track_process', TOP_KNOWN.get('vrrp_track_process')!],
  ['track_bfd', { severity: 'error', why: 'hadhcp has no BFD' }],
  [
    'down_timer_adverts',
    { severity: 'error', why: 'is not implemented: hadhcp uses 3 x advert_int + skew (RFC 3768 6.1)' },
  ],
  ['notify_deleted', NO_EFFECT],
]);

export const SCRIPT_KNOWN = new Map<string, Stance>([]);

export const TOP_IMPLEMENTED = ['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group', 'include'];
export const GLOBAL_IMPLEMENTED = [
  'router_id',
  'vrrp_garp_master_delay',
  'vrrp_garp_master_repeat',
  'vrrp_garp_master_refresh',
  'vrrp_garp_master_refresh_repeat',
  'enable_script_security',
  'script_user',
  'vrrp_version',
];
export const SCRIPT_IMPLEMENTED = [
  'script',
  'interval',
  'timeout',
  'weight',
  'rise',
  'fall',
  'user',
  'init_fail',
];
export const SYNC_IMPLEMENTED = [
  'group',
  'notify_master',
  'notify_backup',
  'notify_fault',
  'notify',
  'notify_stop',
  'smtp_alert',
  'global_tracking',
  'sync_group_tracking_weight',
];
