/*
 * gwconfig-doc.c — writes docs/config.md to stdout from the settings table
 * in common/gw_config.c, for use before (or without) the gateway binary:
 *
 *     build/bin/gwconfig-doc > docs/config.md
 *
 * tests/unit/test_config.c fails when the committed file differs from this
 * output, so regenerate it whenever a setting changes.
 */
#include "gw_config.h"

#include <stdio.h>

int main(void)
{
	gw_config_markdown(stdout);
	if (fflush(stdout) || ferror(stdout)) {
		perror("gwconfig-doc: stdout");
		return 1;
	}
	return 0;
}
