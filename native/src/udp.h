#ifndef HADHCP_UDP_H
#define HADHCP_UDP_H
#include <node_api.h>

/* Adds openUdp, udpSend and closeUdp (udp.c: recvmmsg/sendmmsg batches) to the addon's exports. */
napi_status hadhcp_udp_register(napi_env env, napi_value exports);

#endif
