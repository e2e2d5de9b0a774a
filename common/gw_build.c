/*
 * gw_build.c — build info from the Makefile's generated header.
 */
#include "gw_build.h"

#include "gw_build_info.h"

const char *gw_build_version(void)
{
	return GW_BUILD_VERSION;
}

const char *gw_build_commit(void)
{
	return GW_BUILD_COMMIT;
}

const char *gw_build_lws(void)
{
	return GW_BUILD_LWS;
}

void gw_build_print(FILE *out, const char *prog)
{
	fprintf(out, "%s %s\ncommit %s\nlibwebsockets %s (built with)\n", prog,
		GW_BUILD_VERSION, GW_BUILD_COMMIT, GW_BUILD_LWS);
}
