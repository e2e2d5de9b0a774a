/*
 * gw_tls.c — the node's certificate and the policy of its server contexts
 * (see gw_tls.h).
 *
 * The files are parsed here into objects (certificate, chain, key) rather
 * than handed to SSL_CTX_use_certificate_chain_file and
 * SSL_CTX_use_PrivateKey_file: those change a live context one piece at a
 * time, and a reload whose key does not match its certificate would leave
 * the context half-replaced. SSL_CTX_use_cert_and_key installs all three
 * at once and refuses a mismatch, and by then we have checked it anyway.
 */
#include "gw_tls.h"
#include "gw_alloc.h"
#include "gw_common.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Contexts one node serves from: the lws vhost's and the admin listener's. */
#define GW_TLS_CTX_MAX 4

/*
 * TLS 1.2 suites: forward-secret key exchange and AEAD only (Mozilla's
 * "intermediate" list without the DHE suites, which need DH parameters).
 * TLS 1.3 suites are all AEAD; OpenSSL's defaults stand.
 */
#define GW_TLS12_CIPHERS                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"         \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"         \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

typedef struct {
	X509 *leaf;
	STACK_OF(X509) *chain; /* the certificates after the first; may be empty */
	EVP_PKEY *key;
} material_t;

struct gw_tls {
	char *cert_path, *key_path;
	material_t cur;
	SSL_CTX *ctx[GW_TLS_CTX_MAX]; /* one reference each */
	size_t n_ctx;
};

/* --- reading the files ------------------------------------------------------- */

static void material_free(material_t *m)
{
	X509_free(m->leaf);
	sk_X509_pop_free(m->chain, X509_free);
	EVP_PKEY_free(m->key);
	memset(m, 0, sizeof(*m));
}

/* No prompt on the terminal for an encrypted key: it simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	GW_UNUSED(buf);
	GW_UNUSED(size);
	GW_UNUSED(rwflag);
	GW_UNUSED(u);
	return 0;
}

/* The end of a PEM file reads as "no start line"; anything else is damage. */
static int pem_clean_eof(void)
{
	unsigned long e = ERR_peek_last_error();

	ERR_clear_error();
	return !e || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

static BIO *open_file(const char *flag, const char *path, char *err, size_t errlen)
{
	BIO *b;

	errno = 0;
	b = BIO_new_file(path, "r");
	if (!b)
		snprintf(err, errlen, "%s %s: cannot open it: %s", flag, path,
			 errno ? strerror(errno) : "unreadable");
	ERR_clear_error();
	return b;
}

static int load(const char *cert, const char *key, material_t *m, char *err, size_t errlen)
{
	BIO *b;
	X509 *x;

	memset(m, 0, sizeof(*m));
	if (!(b = open_file("--tls-cert", cert, err, errlen)))
		return GW_EINVAL;
	m->leaf = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
	m->chain = sk_X509_new_null();
	while (m->leaf && m->chain && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
		if (!sk_X509_push(m->chain, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(b);
	if (!m->leaf || !m->chain || !pem_clean_eof()) {
		snprintf(err, errlen, "--tls-cert %s: %s", cert,
			 !m->leaf ? "no PEM certificate in it"
			 : !m->chain ? "out of memory"
				     : "a malformed certificate after the first one");
		goto fail;
	}
	if (!(b = open_file("--tls-key", key, err, errlen)))
		goto fail;
	m->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (!m->key) {
		snprintf(err, errlen,
			 "--tls-key %s: no PEM private key in it (an encrypted key is not supported)",
			 key);
		goto fail;
	}
	if (X509_check_private_key(m->leaf, m->key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "--tls-key %s does not match the certificate in --tls-cert %s",
			 key, cert);
		goto fail;
	}
	return GW_OK;
fail:
	material_free(m);
	return GW_EINVAL;
}

/* --- contexts ------------------------------------------------------------------ */

static int install(SSL_CTX *ctx, const material_t *m)
{
	int ok = SSL_CTX_use_cert_and_key(ctx, m->leaf, m->key, m->chain, 1) == 1;

	ERR_clear_error();
	return ok ? GW_OK : GW_ERROR;
}

static int apply_policy(SSL_CTX *ctx)
{
	int ok;

	/* The NO_TLSv1* options repeat the floor for builds that ignore it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
					 SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_RENEGOTIATION);
	/*
	 * Idle connections are most of a gateway's connections: no read and
	 * write buffers while nothing is in flight. lws sets this on each of
	 * its SSLs already; the admin listener's get it from here.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	     SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) == 1;
	ERR_clear_error();
	return ok ? GW_OK : GW_ERROR;
}

int gw_tls_attach(gw_tls_t *t, SSL_CTX *ctx, char *err, size_t errlen)
{
	if (t->n_ctx == GW_TLS_CTX_MAX) {
		snprintf(err, errlen, "internal error: too many TLS contexts");
		return GW_EFULL;
	}
	if (apply_policy(ctx) || install(ctx, &t->cur)) {
		snprintf(err, errlen, "cannot set up TLS with --tls-cert %s and --tls-key %s",
			 t->cert_path, t->key_path);
		return GW_ERROR;
	}
	SSL_CTX_up_ref(ctx);
	t->ctx[t->n_ctx++] = ctx;
	return GW_OK;
}

SSL_CTX *gw_tls_ctx_new(gw_tls_t *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ERR_clear_error();
		snprintf(err, errlen, "out of memory creating a TLS context");
		return NULL;
	}
	if (gw_tls_attach(t, ctx, err, errlen)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* --- public -------------------------------------------------------------------- */

gw_tls_t *gw_tls_create(const char *cert, const char *key, char *err, size_t errlen)
{
	gw_tls_t *t = gw_calloc(1, sizeof(*t));

	if (!t || !(t->cert_path = gw_strdup(cert)) || !(t->key_path = gw_strdup(key))) {
		snprintf(err, errlen, "out of memory reading the TLS certificate");
		gw_tls_free(t);
		return NULL;
	}
	if (load(cert, key, &t->cur, err, errlen)) {
		gw_tls_free(t);
		return NULL;
	}
	return t;
}

void gw_tls_free(gw_tls_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_ctx; i++)
		SSL_CTX_free(t->ctx[i]);
	material_free(&t->cur);
	gw_free(t->cert_path);
	gw_free(t->key_path);
	gw_free(t);
}

int gw_tls_reload(gw_tls_t *t, char *err, size_t errlen)
{
	material_t m;
	size_t i;

	if (load(t->cert_path, t->key_path, &m, err, errlen))
		return GW_EINVAL; /* the old certificate stays */
	for (i = 0; i < t->n_ctx; i++) {
		if (install(t->ctx[i], &m)) {
			/* Checked above, so only memory can fail here. */
			snprintf(err, errlen, "cannot install the new certificate (out of memory?)");
			material_free(&m);
			return GW_ERROR;
		}
	}
	material_free(&t->cur);
	t->cur = m;
	return GW_OK;
}

void gw_tls_info(const gw_tls_t *t, gw_tls_info_t *out)
{
	const ASN1_TIME *na = X509_get0_notAfter(t->cur.leaf);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(t->cur.leaf), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	struct tm tm;

	memset(out, 0, sizeof(*out));
	X509_NAME_oneline(X509_get_subject_name(t->cur.leaf), out->subject,
			  (int)sizeof(out->subject));
	snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "?");
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out->expired = X509_cmp_current_time(na) < 0;
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}
