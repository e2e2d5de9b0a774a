/*
 * stub_lws.c — the few libwebsockets calls gw_session and gw_health make,
 * for fuzz targets that drive sessions without lws (fuzz_cluster).
 *
 * The fragment flags are whatever the harness set for the frame it hands
 * to gw_session_on_receive(); lws_write succeeds and is counted, so the
 * send queue drains as it would on a fast client. The fast path's send(2)
 * goes to a real socket (one end of a socketpair the harness drains), so
 * it too writes whole frames, parts of frames (the socket full) or none.
 */
#include "stub.h"

#include <fcntl.h>
#include <libwebsockets.h>
#include <sys/socket.h>
#include <unistd.h>

stub_frame_t stub_frame = { 1, 1, 0 };
uint64_t stub_lws_written;
static int pair[2] = { -1, -1 };

void stub_lws_init(void)
{
	int small = 4096;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
	/* A small buffer, so that partial writes happen too. */
	setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	FUZZ_CHECK(fcntl(pair[1], F_SETFL, O_NONBLOCK) == 0);
}

void stub_lws_drain(void)
{
	char buf[65536];

	while (read(pair[1], buf, sizeof(buf)) > 0)
		;
}

int lws_is_first_fragment(struct lws *wsi)
{
	(void)wsi;
	return stub_frame.first;
}

int lws_is_final_fragment(struct lws *wsi)
{
	(void)wsi;
	return stub_frame.final;
}

size_t lws_remaining_packet_payload(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

int lws_frame_is_binary(struct lws *wsi)
{
	(void)wsi;
	return stub_frame.binary;
}

int lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	return 1;
}

int lws_partial_buffered(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

lws_sockfd_type lws_get_socket_fd(struct lws *wsi)
{
	(void)wsi;
	return pair[0];
}

int lws_write(struct lws *wsi, unsigned char *buf, size_t len,
	      enum lws_write_protocol wp)
{
	(void)wsi;
	(void)wp;
	/* lws lays the frame header in the LWS_PRE bytes before `buf`. */
	fuzz_touch(buf - LWS_PRE, LWS_PRE + len);
	stub_lws_written += len;
	return (int)len;
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status,
		      unsigned char *buf, size_t len)
{
	(void)wsi;
	(void)status;
	fuzz_touch(buf, len);
}
