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

/** A keyword hadhcp accepts without doing anything: a note, with why it is harmless. */
const noEffect = (why?: string): Stance => ({
  severity: 'note',
  why: why === undefined ? 'has no effect in hadhcp' : `has no effect in hadhcp (${why})`,
});
/** A keyword whose absence the network would see: an error. */
const refused = (why: string): Stance => ({ severity: 'error', why });

const NO_EFFECT = noEffect();
const mail = noEffect('no e-mail alerts; watch `hadhcp status` or the notify scripts');
const proc = noEffect("it tunes keepalived's own processes");
const firewall = noEffect('it adds no firewall rules');
const fifo = noEffect('use notify scripts or the control socket');
const ipv4Only = noEffect('IPv4 only');
const lvs = refused('hadhcp has no LVS/IPVS load balancer; run keepalived for it');
const bfd = refused('hadhcp has no BFD');
const trackFile = refused('track files are not implemented; use a vrrp_script that reads the file');
const trackProcess = refused('process tracking is not implemented; use a vrrp_script (e.g. pidof)');
const strict = refused(
  'is not implemented: keepalived then drops all traffic to the VIPs with firewall rules and refuses authentication and unicast; hadhcp adds no rules, so the network would see reachable VIPs',
);

export const TOP_KNOWN = new Map<string, Stance>([
  ['virtual_server', lvs],
  ['virtual_server_group', lvs],
  ['bfd_instance', bfd],
  ['static_ipaddress', refused('hadhcp does not add static addresses; configure them in the OS')],
  ['static_routes', refused('hadhcp does not add static routes; configure them in the OS')],
  ['static_rules', refused('hadhcp does not add routing rules; configure them in the OS')],
  ['vrrp_track_file', trackFile],
  ['track_file', trackFile],
  ['vrrp_track_process', trackProcess],
  ['net_namespace', refused('hadhcp does not switch network namespaces; start it inside the namespace')],
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
  ['vrrp_skip_check_adv_addr', noEffect('an address list mismatch is only logged, as keepalived 2.x does')],
  ['vrrp_check_unicast_src', NO_EFFECT],
  ['vrrp_iptables', firewall],
  ['vrrp_ipsets', firewall],
  ['vrrp_nftables', firewall],
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
  ['vrrp_notify_fifo', fifo],
  ['notify_fifo', fifo],
  ['vrrp_garp_interval', noEffect('gratuitous ARPs of one burst go out back to back')],
  ['vrrp_gna_interval', ipv4Only],
  ['vrrp_lower_prio_no_advert', NO_EFFECT],
  ['vrrp_higher_prio_send_advert', NO_EFFECT],
  ['vrrp_garp_lower_prio_delay', NO_EFFECT],
  ['vrrp_garp_lower_prio_repeat', NO_EFFECT],
  ['vrrp_min_garp', NO_EFFECT],
  [
    'vrrp_startup_delay',
    refused('is not implemented: hadhcp would take over sooner after boot than this file asks'),
  ],
  [
    'vrrp_mcast_group4',
    refused('is not implemented: hadhcp always sends adverts to 224.0.0.18 (RFC 3768 5.2.2)'),
  ],
  ['vrrp_mcast_group6', ipv4Only],
  ['vrrp_strict', strict],
  ['script_security', refused('is not a keepalived keyword; the keyword is enable_script_security')],
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
  ['accept', noEffect('VRRPv2 without strict mode accepts packets to the VIP anyway')],
  ['no_accept', refused('is not implemented: hadhcp adds no rules dropping traffic to the VIPs')],
  [
    'dont_track_primary',
    {
      severity: 'warning',
      why: "is not implemented: hadhcp still goes to FAULT when the instance's interface loses its link",
    },
  ],
  ['use_vmac', refused('is not implemented: hadhcp sends from the interface MAC, not 00:00:5e:00:01:VRID')],
  ['vmac_xmit_base', refused('is not implemented (no VMAC support)')],
  ['native_ipv6', refused('hadhcp is IPv4 only')],
  [
    'mcast_src_ip',
    refused(
      "is not implemented: hadhcp sends adverts from the interface's primary address (RFC 3768 5.1.1.1)",
    ),
  ],
  ['unicast_ttl', refused('is not implemented: hadhcp sends unicast adverts with TTL 255')],
  ['strict_mode', strict],
  ['version', refused('only VRRP version 2 (RFC 3768) is implemented')],
  ['virtual_routes', refused('is not implemented: hadhcp moves addresses only, not routes')],
  ['virtual_rules', refused('is not implemented: hadhcp moves addresses only, not routing rules')],
  ['track_file', trackFile],
  ['track_process', trackProcess],
  ['track_bfd', bfd],
  ['down_timer_adverts', refused('is not implemented: hadhcp uses 3 x advert_int + skew (RFC 3768 6.1)')],
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
