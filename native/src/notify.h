#ifndef HADHCP_NOTIFY_H
#define HADHCP_NOTIFY_H
#include <node_api.h>

/* sdNotify(socketPath: string, message: string): void */
napi_value hadhcp_sd_notify(napi_env env, napi_callback_info info);

#endif
