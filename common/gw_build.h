/*
 * gw_build.h — what this binary is: the gateway's version, the commit it
 * was built from and the libwebsockets revision it was built with.
 *
 * The version is written once, in the Makefile (VERSION); the Makefile
 * generates $(BUILD)/gen/gw_build_info.h from it, from `git describe` and
 * from the REVISION file deploy/build-lws.sh leaves next to libwebsockets.
 * `gateway --version`, `gatewayctl --version`, the start-up log line and
 * the gw_build_info metric all read these functions, so they cannot
 * disagree. Every string is static, printable and free of quotes.
 */
#ifndef GW_BUILD_H
#define GW_BUILD_H

#include <stdio.h>

const char *gw_build_version(void); /* "0.1.0" */
const char *gw_build_commit(void);  /* `git describe --always --dirty`, or "unknown" */
const char *gw_build_lws(void);     /* e.g. "4.3.5-1+deb13u3", or "unknown" */

/* The --version text: "PROG VERSION", then the commit and lws lines. */
void gw_build_print(FILE *out, const char *prog);

#endif
