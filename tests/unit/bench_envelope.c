/*
 * bench_envelope.c — micro-benchmark of the envelope codec on the fan-out
 * hot path: one encode per broadcast, one decode per received envelope.
 *
 * Not a test (`make unit` runs only test_*): build and run it with
 *   make bench-envelope
 * It encodes and decodes a typical lobby broadcast (about 200 bytes on the
 * wire) a million times (or argv[1] times), best of ROUNDS, and prints
 * nanoseconds per operation. The machine's load skews wall-clock figures;
 * for a steadier comparison count instructions, e.g.
 *   valgrind --tool=callgrind build/tests/bench_envelope 10000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_alloc.h"
#include "gw_envelope.h"

#define ROUNDS 5

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_envelope: %s failed\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	static const char frame[] =
		"{\"type\":\"message\",\"lobby\":\"lobby-42\",\"from\":\"alice\","
		"\"seq\":123457,\"data\":{\"text\":\"hello everyone, the next "
		"round starts in five minutes\",\"ts\":1733000000}}";
	gw_envelope_t e = { .type = GW_ENV_MSG, .version = 1 };
	volatile size_t sink = 0;
	double best_enc = 1e30, best_dec = 1e30, best_both = 1e30, t0;
	long iters = argc > 1 ? atol(argv[1]) : 1000000L, i;
	char *buf;
	size_t len;
	int r;

	e.origin = "gw-node-3";
	e.origin_len = strlen(e.origin);
	e.lobby = "lobby-42";
	e.lobby_len = strlen(e.lobby);
	e.seq = 123457;
	e.payload = frame;
	e.payload_len = strlen(frame);
	if (iters <= 0)
		die("argv[1]");
	if (gw_envelope_encode(&e, &buf, &len) != GW_OK)
		die("encode");

	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < iters; i++) {
			char *b;
			size_t n;

			if (gw_envelope_encode(&e, &b, &n) != GW_OK)
				die("encode");
			sink += n;
			gw_free(b);
		}
		t0 = (now_ns() - t0) / iters;
		best_enc = t0 < best_enc ? t0 : best_enc;

		t0 = now_ns();
		for (i = 0; i < iters; i++) {
			gw_envelope_t d;

			if (gw_envelope_decode(buf, len, &d) != GW_OK)
				die("decode");
			sink += d.payload_len;
			gw_envelope_clear(&d);
		}
		t0 = (now_ns() - t0) / iters;
		best_dec = t0 < best_dec ? t0 : best_dec;

		t0 = now_ns();
		for (i = 0; i < iters; i++) {
			gw_envelope_t d;
			char *b;
			size_t n;

			if (gw_envelope_encode(&e, &b, &n) != GW_OK)
				die("encode");
			if (gw_envelope_decode(b, n, &d) != GW_OK)
				die("decode");
			sink += d.payload_len;
			gw_envelope_clear(&d);
			gw_free(b);
		}
		t0 = (now_ns() - t0) / iters;
		best_both = t0 < best_both ? t0 : best_both;
	}
	printf("envelope of %zu bytes, %ld iterations, best of %d:\n", len,
	       iters, ROUNDS);
	printf("  encode          %7.1f ns\n", best_enc);
	printf("  decode          %7.1f ns\n", best_dec);
	printf("  encode+decode   %7.1f ns\n", best_both);
	gw_free(buf);
	return sink == 0;
}
