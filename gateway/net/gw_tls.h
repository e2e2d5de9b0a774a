/*
 * gw_tls.h — the node's TLS certificate: wss:// on the WebSocket port and,
 * with --admin-tls, https:// on the admin listener.
 *
 * One gw_tls_t holds the certificate (with its chain) and the key read from
 * --tls-cert and --tls-key, and the server SSL_CTXs that serve them: the
 * one libwebsockets creates for its vhost (handed to gw_tls_attach from the
 * vhost's init callback) and the admin listener's (gw_tls_ctx_new). Every
 * such context gets the same policy: TLS 1.2 or later, ECDHE with AEAD
 * ciphers for TLS 1.2, the server's cipher order, no compression, no
 * renegotiation, and buffers released while a connection is idle.
 *
 * gw_tls_reload (SIGHUP) reads both files again and, only if they parse and
 * the key matches, swaps certificate, chain and key into every context at
 * once. OpenSSL copies a context's certificate into each connection when
 * the connection is created, so open connections keep theirs and are not
 * disturbed; new handshakes get the new one. On any error nothing changes.
 *
 * Everything runs on the loop's thread; nothing here logs (callers do).
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

typedef struct gw_tls gw_tls_t;
typedef struct ssl_ctx_st SSL_CTX;

/* What the current certificate is, for log lines. */
typedef struct {
	char subject[256]; /* one-line DN */
	char serial[80];   /* hex */
	char not_after[32]; /* "2027-01-31T12:00:00Z" */
	int expired;       /* not_after is in the past */
} gw_tls_info_t;

/*
 * Reads `cert` (PEM: the certificate, then any chain certificates) and
 * `key` (an unencrypted PEM private key) and checks they belong together.
 * NULL with `err` saying which file and what is wrong.
 */
gw_tls_t *gw_tls_create(const char *cert, const char *key, char *err, size_t errlen);
void gw_tls_free(gw_tls_t *t);

/*
 * Applies the policy and the current certificate to `ctx`, which t takes
 * a reference on (so reloads can reach it and it outlives its creator if
 * need be). 0, or a negative GW_E* code with `err` set.
 */
int gw_tls_attach(gw_tls_t *t, SSL_CTX *ctx, char *err, size_t errlen);

/* A new server context, attached; the caller owns one reference. */
SSL_CTX *gw_tls_ctx_new(gw_tls_t *t, char *err, size_t errlen);

/* Re-reads the files into every attached context; see above. */
int gw_tls_reload(gw_tls_t *t, char *err, size_t errlen);

void gw_tls_info(const gw_tls_t *t, gw_tls_info_t *out);

#endif
