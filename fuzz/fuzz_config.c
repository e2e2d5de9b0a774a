/*
 * fuzz_config.c — the config-file parser (common/gw_config), from a buffer
 * through gw_config_load_text(): the same line reader, table lookup and
 * value checks as a --config file.
 *
 * Properties: a load either succeeds with every required setting set and
 * the cross-setting rules holding, or fails with a non-empty message; and
 * gw_config_free() releases whatever it filled (LeakSanitizer checks).
 */
#include "fuzz.h"
#include "gw_auth.h"
#include "gw_config.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_config_t cfg;
	char err[512];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = gw_config_load_text(&cfg, (const char *)data, size, "fuzz.conf", err,
				 sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
	if (rc == GW_OK) {
		FUZZ_CHECK(!err[0]);
		FUZZ_CHECK(cfg.listen && cfg.node_id && *cfg.node_id && cfg.redis_url &&
			   cfg.redis_prefix && *cfg.redis_prefix);
		FUZZ_CHECK(strlen(cfg.jwt_secret) >= GW_AUTH_MIN_SECRET);
		FUZZ_CHECK(cfg.send_queue_bytes >= cfg.max_message_size);
		FUZZ_CHECK(cfg.user_policy >= GW_POLICY_REPLACE &&
			   cfg.user_policy <= GW_POLICY_MULTI);
	} else {
		FUZZ_CHECK(rc < 0 && err[0]);
	}
	gw_config_free(&cfg);
	return 0;
}
