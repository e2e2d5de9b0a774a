/*
 * test_log.c — unit tests for common/gw_log.c: the logfmt and JSON line
 * formats, quoting, level filtering (with arguments left unevaluated below
 * the level), reopening after rotation, and truncation of oversized lines.
 *
 * Each test logs to a fresh file in a private temporary directory and reads
 * the file back; JSON lines are parsed with jansson. The logger is global
 * state, so every test opens it in setup and closes it in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_log.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* The line buffer in gw_log_emit(): a line is at most this, '\n' included. */
#define LINE_MAX_BYTES 16384 /* gw_log.c's line buffer */
#define VALUE_MAX_BYTES 1024 /* gw_log.c cuts each value here */

static char dir[64];
static char path[128];

/* --- helpers ------------------------------------------------------------ */

/* Reads a whole file into a NUL-terminated heap string (caller frees). */
static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Number of '\n'-terminated lines; fails on a final unterminated one. */
static size_t count_lines(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += s[i] == '\n';
	if (len)
		assert_int_equal(s[len - 1], '\n');
	return n;
}

/*
 * The only line in the log, without the timestamp prefix "ts=... " that
 * logfmt lines start with (checked here), as a heap string.
 */
static char *logfmt_line(void)
{
	size_t len;
	char *s = slurp(path, &len), *rest;
	int y, mo, d, h, mi, sec, ms;
	char z;

	assert_int_equal(count_lines(s, len), 1);
	s[len - 1] = '\0';
	assert_int_equal(sscanf(s, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3d%c ", &y, &mo, &d, &h, &mi,
				&sec, &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_true(y >= 2020 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
	assert_true(h < 24 && mi < 60 && sec < 61 && ms < 1000);
	assert_true(strlen(s) > 28);
	assert_int_equal(s[27], ' ');
	rest = strdup(s + 28); /* "ts=" + 24 bytes of time + ' ' */
	assert_non_null(rest);
	free(s);
	return rest;
}

/* The only line in the log, parsed as JSON. */
static json_t *json_line(void)
{
	size_t len;
	char *s = slurp(path, &len);
	json_error_t err;
	json_t *j;

	assert_int_equal(count_lines(s, len), 1);
	j = json_loadb(s, len - 1, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, s);
	free(s);
	assert_true(json_is_object(j));
	return j;
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory stream's own */
}

static void truncate_log(void)
{
	assert_int_equal(truncate(path, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_log.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/gw.log", dir);
	return gw_log_open(path, GW_LOG_DEBUG, GW_LOG_LOGFMT) == GW_OK ? 0 : -1;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	gw_log_close();
	unlink(path);
	snprintf(p, sizeof(p), "%s.1", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

/* --- logfmt --------------------------------------------------------------- */

static void test_logfmt_basic(void **state)
{
	char *l;

	(void)state;
	GW_LOG(GW_LOG_INFO, "connect", GW_S("conn", "node-1.5f3a"), GW_S("user", "alice"),
	       GW_I("code", 4002));
	l = logfmt_line();
	assert_string_equal(l, "level=info event=connect conn=node-1.5f3a user=alice code=4002");
	free(l);
}

static void test_logfmt_no_fields_and_levels(void **state)
{
	static const struct {
		gw_log_level_t lvl;
		const char *name;
	} lv[] = {
		{ GW_LOG_DEBUG, "debug" },
		{ GW_LOG_INFO, "info" },
		{ GW_LOG_WARN, "warn" },
		{ GW_LOG_ERROR, "error" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(lv); i++) {
		char want[64], *l;

		truncate_log();
		GW_LOG(lv[i].lvl, "tick");
		l = logfmt_line();
		snprintf(want, sizeof(want), "level=%s event=tick", lv[i].name);
		assert_string_equal(l, want);
		free(l);
	}
	assert_string_equal(gw_log_level_name(GW_LOG_OFF), "off");
	assert_string_equal(gw_log_level_name((gw_log_level_t)99), "?");
	assert_string_equal(gw_log_level_name((gw_log_level_t)-1), "?");
}

static void test_logfmt_numbers(void **state)
{
	char *l;

	(void)state;
	GW_LOG(GW_LOG_INFO, "n", GW_I("zero", 0), GW_I("neg", -17), GW_I("max", LLONG_MAX),
	       GW_I("min", LLONG_MIN));
	l = logfmt_line();
	assert_string_equal(l, "level=info event=n zero=0 neg=-17 max=9223372036854775807 "
			       "min=-9223372036854775808");
	free(l);
}

/* Values that would break logfmt are written as quoted, escaped strings. */
static void test_logfmt_quoting(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "with-dash_und.dot:colon/slash", "with-dash_und.dot:colon/slash" },
		{ "hello world", "\"hello world\"" },
		{ "a=b", "\"a=b\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "q\"", "\"q\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "", "\"\"" },
		{ "tab\there", "\"tab\\there\"" },
		{ "two\nlines", "\"two\\nlines\"" },
		{ "cr\r", "\"cr\\r\"" },
		{ "bell\x07", "\"bell\\u0007\"" },
		{ " lead", "\" lead\"" },
		{ "trail ", "\"trail \"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(cases); i++) {
		char want[128], *l;

		truncate_log();
		GW_LOG(GW_LOG_INFO, "q", GW_S("v", cases[i].in), GW_S("next", "x"));
		l = logfmt_line();
		snprintf(want, sizeof(want), "level=info event=q v=%s next=x", cases[i].out);
		/*
		 * \t, \n and \r may be spelt either way (\t or \u0009): for
		 * those, decode the quoted value with jansson instead.
		 */
		if (strpbrk(cases[i].in, "\t\n\r")) {
			const char *q = strstr(l, " v=");
			const char *e = strstr(l, " next=x");
			json_t *j;

			assert_non_null(q);
			assert_non_null(e);
			q += 3;
			j = json_loadb(q, (size_t)(e - q), JSON_DECODE_ANY, NULL);
			if (!j)
				fail_msg("value not a JSON string: %s", l);
			assert_string_equal(json_string_value(j), cases[i].in);
			json_decref(j);
		} else if (strcmp(l, want) != 0) {
			fail_msg("got  %s\nwant %s", l, want);
		}
		free(l);
	}
}

/* A NULL string field is logged as an empty (quoted) value. */
static void test_logfmt_null_string(void **state)
{
	const char *nothing = NULL;
	char *l;

	(void)state;
	GW_LOG(GW_LOG_WARN, "x", GW_S("user", nothing));
	l = logfmt_line();
	assert_string_equal(l, "level=warn event=x user=\"\"");
	free(l);
}

/* No value can start a second line: one event, one line. */
static void test_logfmt_no_line_injection(void **state)
{
	size_t len;
	char *s;

	(void)state;
	GW_LOG(GW_LOG_INFO, "x", GW_S("user", "eve\nts=2000-01-01T00:00:00.000Z level=error "
					      "event=forged"));
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	free(s);
}

/* --- JSON ----------------------------------------------------------------- */

static void test_json_basic(void **state)
{
	json_t *j;
	const char *ts;

	(void)state;
	assert_int_equal(gw_log_open(path, GW_LOG_DEBUG, GW_LOG_JSON), GW_OK);
	GW_LOG(GW_LOG_WARN, "connect", GW_S("conn", "node-1.5f3a"), GW_S("user", "alice"),
	       GW_I("code", 4002), GW_I("neg", LLONG_MIN));
	j = json_line();
	assert_int_equal(json_object_size(j), 7);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "event")), "connect");
	assert_string_equal(json_string_value(json_object_get(j, "conn")), "node-1.5f3a");
	assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
	assert_true(json_is_integer(json_object_get(j, "code")));
	assert_true(json_integer_value(json_object_get(j, "code")) == 4002);
	assert_true(json_integer_value(json_object_get(j, "neg")) == LLONG_MIN);
	ts = json_string_value(json_object_get(j, "ts"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24); /* 2025-01-02T03:04:05.678Z */
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[23], 'Z');
	json_decref(j);
}

/* Every awkward value survives as the same string; keys are escaped too. */
static void test_json_escaping(void **state)
{
	static const char *const vals[] = {
		"", "plain", "with space", "a=b", "say \"hi\"", "back\\slash", "two\nlines",
		"tab\t cr\r", "\x01\x02\x1f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\x7f",
	};
	size_t i;

	(void)state;
	assert_int_equal(gw_log_open(path, GW_LOG_DEBUG, GW_LOG_JSON), GW_OK);
	for (i = 0; i < GW_ARRAY_LEN(vals); i++) {
		json_t *j;

		truncate_log();
		GW_LOG(GW_LOG_INFO, "ev\"ent", GW_S("v", vals[i]), GW_S("k\"ey", "x"));
		j = json_line();
		assert_string_equal(json_string_value(json_object_get(j, "v")), vals[i]);
		assert_string_equal(json_string_value(json_object_get(j, "event")), "ev\"ent");
		assert_string_equal(json_string_value(json_object_get(j, "k\"ey")), "x");
		json_decref(j);
	}
}

/* --- levels --------------------------------------------------------------- */

static int evaluated;

static const char *side_effect(void)
{
	evaluated++;
	return "value";
}

static long long side_effect_num(void)
{
	evaluated++;
	return 7;
}

static void test_level_filtering(void **state)
{
	size_t len;
	char *s;

	(void)state;
	assert_int_equal(gw_log_open(path, GW_LOG_WARN, GW_LOG_LOGFMT), GW_OK);
	assert_int_equal(gw_log_level, GW_LOG_WARN);
	evaluated = 0;
	GW_LOG(GW_LOG_DEBUG, "d", GW_S("v", side_effect()), GW_I("n", side_effect_num()));
	GW_LOG(GW_LOG_INFO, "i", GW_S("v", side_effect()));
	assert_int_equal(evaluated, 0); /* below the level: not even evaluated */
	s = slurp(path, &len);
	assert_int_equal(len, 0);
	free(s);

	GW_LOG(GW_LOG_WARN, "w", GW_S("v", side_effect()), GW_I("n", side_effect_num()));
	GW_LOG(GW_LOG_ERROR, "e", GW_S("v", side_effect()));
	assert_int_equal(evaluated, 3);
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_non_null(strstr(s, "level=warn event=w v=value n=7\n"));
	assert_non_null(strstr(s, "level=error event=e v=value\n"));
	assert_null(strstr(s, "event=d"));
	assert_null(strstr(s, "event=i"));
	free(s);
}

/* The level may also be changed at run time through gw_log_level. */
static void test_level_runtime_change(void **state)
{
	size_t len;
	char *s;

	(void)state;
	evaluated = 0;
	gw_log_level = GW_LOG_ERROR;
	GW_LOG(GW_LOG_WARN, "w", GW_S("v", side_effect()));
	gw_log_level = GW_LOG_DEBUG;
	GW_LOG(GW_LOG_DEBUG, "d", GW_S("v", side_effect()));
	assert_int_equal(evaluated, 1);
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	assert_non_null(strstr(s, "event=d"));
	free(s);
}

static void test_level_off(void **state)
{
	size_t len;
	char *s;

	(void)state;
	assert_int_equal(gw_log_open(path, GW_LOG_OFF, GW_LOG_JSON), GW_OK);
	evaluated = 0;
	GW_LOG(GW_LOG_ERROR, "e", GW_S("v", side_effect()));
	GW_LOG(GW_LOG_DEBUG, "d", GW_S("v", side_effect()));
	assert_int_equal(evaluated, 0);
	s = slurp(path, &len);
	assert_int_equal(len, 0);
	free(s);
}

/* --- files ---------------------------------------------------------------- */

/* Rotation: rename the file, log, reopen: old lines stay, new ones go to a
 * fresh file at the original path. */
static void test_reopen_after_rename(void **state)
{
	char rotated[160];
	size_t len;
	char *s;

	(void)state;
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	GW_LOG(GW_LOG_INFO, "before");
	assert_int_equal(rename(path, rotated), 0);
	GW_LOG(GW_LOG_INFO, "between"); /* still the old, renamed file */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(gw_log_reopen(), GW_OK);
	GW_LOG(GW_LOG_INFO, "after");

	s = slurp(rotated, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_non_null(strstr(s, "event=before\n"));
	assert_non_null(strstr(s, "event=between\n"));
	free(s);
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	assert_non_null(strstr(s, "event=after\n"));
	free(s);

	/* Reopening without a rotation keeps appending to the same file. */
	assert_int_equal(gw_log_reopen(), GW_OK);
	GW_LOG(GW_LOG_INFO, "again");
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	free(s);
}

/* Every reopen (one per SIGHUP) closes the descriptor it replaces. */
static void test_reopen_does_not_leak_fds(void **state)
{
	int before, i;

	(void)state;
	before = count_fds();
	for (i = 0; i < 50; i++)
		assert_int_equal(gw_log_reopen(), GW_OK);
	assert_int_equal(count_fds(), before);
	/* Opening again, and closing, release the old descriptor too. */
	assert_int_equal(gw_log_open(path, GW_LOG_INFO, GW_LOG_JSON), GW_OK);
	assert_int_equal(count_fds(), before);
	gw_log_close();
	assert_int_equal(count_fds(), before - 1);
}

/* Opening appends: existing content is kept. New files are not world-readable. */
static void test_open_appends(void **state)
{
	struct stat st;
	size_t len;
	char *s;

	(void)state;
	GW_LOG(GW_LOG_INFO, "one");
	assert_int_equal(gw_log_open(path, GW_LOG_INFO, GW_LOG_LOGFMT), GW_OK);
	GW_LOG(GW_LOG_INFO, "two");
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_true(strstr(s, "event=one") < strstr(s, "event=two"));
	free(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & S_IROTH, 0);
}

/* A path that cannot be opened is an error; stderr and "-" are not paths. */
static void test_open_errors(void **state)
{
	char bad[160];

	(void)state;
	snprintf(bad, sizeof(bad), "%s/no/such/dir/gw.log", dir);
	assert_int_equal(gw_log_open(bad, GW_LOG_OFF, GW_LOG_LOGFMT), GW_EIO);
	gw_log_close();
	assert_int_equal(gw_log_open(NULL, GW_LOG_OFF, GW_LOG_LOGFMT), GW_OK);
	assert_int_equal(gw_log_reopen(), GW_OK); /* stderr: nothing to reopen */
	assert_int_equal(gw_log_open("", GW_LOG_OFF, GW_LOG_LOGFMT), GW_OK);
	assert_int_equal(gw_log_open("-", GW_LOG_OFF, GW_LOG_LOGFMT), GW_OK);
	assert_int_equal(access("-", F_OK), -1); /* no file called "-" */
	gw_alloc_fail_after(0);
	assert_int_equal(gw_log_open(path, GW_LOG_OFF, GW_LOG_LOGFMT), GW_ENOMEM);
	gw_alloc_fail_after(-1);
	gw_log_close();
	gw_log_close(); /* twice: harmless */
}

/* When the rotated-to path cannot be created, the old file stays in use. */
static void test_reopen_failure_keeps_old_file(void **state)
{
	char moved[160];
	size_t len;
	char *s;

	(void)state;
	snprintf(moved, sizeof(moved), "%s/sub", dir);
	GW_LOG(GW_LOG_INFO, "first");
	/* Make the log's path a directory: opening it for writing fails. */
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(gw_log_reopen(), GW_EIO);
	GW_LOG(GW_LOG_INFO, "second");
	s = slurp(moved, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_non_null(strstr(s, "event=second\n"));
	free(s);
	gw_log_close();
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(unlink(moved), 0);
}

/* --- truncation ----------------------------------------------------------- */

/*
 * A value longer than a line: the line is cut at the buffer size, still
 * ends with a newline, and nothing is written past the buffer (ASan).
 */
static void check_truncated(gw_log_format_t fmt, char fill)
{
	const size_t n = 10000;
	char *big = malloc(n + 1);
	size_t len;
	char *s;

	assert_non_null(big);
	memset(big, fill, n);
	big[n] = '\0';
	assert_int_equal(gw_log_open(path, GW_LOG_DEBUG, fmt), GW_OK);
	truncate_log();
	GW_LOG(GW_LOG_INFO, "big", GW_S("v", big), GW_S("after", "tail"));
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	/* The value is cut, the line keeps its structure: later fields and,
	 * in JSON, a closing brace survive. */
	assert_true(len <= 200 + 6 * VALUE_MAX_BYTES);
	assert_true(len >= VALUE_MAX_BYTES); /* cut, not dropped */
	assert_non_null(strstr(s, "tail"));
	assert_non_null(strstr(s, "big"));
	if (fmt == GW_LOG_JSON) {
		json_error_t e;
		json_t *j = json_loadb(s, len, 0, &e);

		assert_non_null(j);
		json_decref(j);
	}
	free(s);

	/* The next line is complete and separate. */
	truncate_log();
	GW_LOG(GW_LOG_INFO, "small", GW_S("v", "ok"));
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	assert_non_null(strstr(s, "ok"));
	free(s);
	free(big);
}

static void test_truncation(void **state)
{
	(void)state;
	check_truncated(GW_LOG_LOGFMT, 'x');
	check_truncated(GW_LOG_LOGFMT, '"');  /* doubles when escaped */
	check_truncated(GW_LOG_LOGFMT, '\x01'); /* six times when escaped */
	check_truncated(GW_LOG_JSON, 'x');
	check_truncated(GW_LOG_JSON, '\\');
	check_truncated(GW_LOG_JSON, '\x02');
}

/* Many fields, each short: the line is cut the same way, never overrun. */
static void test_truncation_many_fields(void **state)
{
	size_t len;
	char *s;

	(void)state;
#define F10 GW_S("key", "value value"), GW_S("key", "value value"), GW_S("key", "value value"), \
	    GW_S("key", "value value"), GW_S("key", "value value"), GW_S("key", "value value"), \
	    GW_S("key", "value value"), GW_S("key", "value value"), GW_S("key", "value value"), \
	    GW_S("key", "value value")
	GW_LOG(GW_LOG_INFO, "many", F10, F10, F10, F10, F10, F10, F10, F10, F10, F10);
#undef F10
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	assert_true(len <= LINE_MAX_BYTES);
	free(s);
}

/* --- batching (gw_log_batch) ------------------------------------------------ */

static int arms;

static void count_arm(void *ud)
{
	assert_ptr_equal(ud, &arms);
	arms++;
}

static size_t log_size(void)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Info lines wait for the flush; the first one arms it, once. */
static void test_batch_waits_for_flush(void **state)
{
	size_t len;
	char *s;

	(void)state;
	arms = 0;
	gw_log_batch(count_arm, &arms);
	GW_LOG(GW_LOG_INFO, "one", GW_I("n", 1));
	GW_LOG(GW_LOG_DEBUG, "two", GW_I("n", 2));
	assert_int_equal(arms, 1);
	assert_int_equal(log_size(), 0);
	gw_log_flush();
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_true(strstr(s, "event=one") < strstr(s, "event=two"));
	free(s);
	GW_LOG(GW_LOG_INFO, "three");
	assert_int_equal(arms, 2); /* empty again: armed again */
	gw_log_batch(NULL, NULL);  /* off: flushes */
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 3);
	free(s);
	GW_LOG(GW_LOG_INFO, "four"); /* unbatched: written at once */
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 4);
	free(s);
}

/* A warning goes out at once, after the lines logged before it. */
static void test_batch_warn_flushes_in_order(void **state)
{
	size_t len;
	char *s;

	(void)state;
	gw_log_batch(count_arm, &arms);
	GW_LOG(GW_LOG_INFO, "before");
	GW_LOG(GW_LOG_WARN, "trouble");
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	assert_non_null(strstr(s, "event=before"));
	assert_true(strstr(s, "event=before") < strstr(s, "event=trouble"));
	free(s);
	gw_log_batch(NULL, NULL);
}

/* The buffer never holds more than GW_LOG_BATCH_MAX: whole lines go out
 * before it would overflow, and a longer line goes out alone, in order. */
static void test_batch_bounded_and_whole_lines(void **state)
{
	char big[6000];
	size_t len, written = 0;
	char *s;
	int i;

	(void)state;
	gw_log_batch(count_arm, &arms);
	for (i = 0; i < 200; i++) {
		GW_LOG(GW_LOG_INFO, "line", GW_I("i", i), GW_S("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		assert_true(log_size() >= written); /* never shrinks */
		written = log_size();
	}
	assert_true(written > 0); /* ~20 KB logged: some went out already */
	s = slurp(path, &len);
	assert_true(len > 0 && s[len - 1] == '\n'); /* whole lines only */
	free(s);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	GW_LOG(GW_LOG_INFO, "big", GW_S("v1", big), GW_S("v2", big), GW_S("v3", big),
	       GW_S("v4", big), GW_S("v5", big));
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 201);
	assert_non_null(strstr(s, "event=line i=199"));
	assert_true(strstr(s, "event=line i=199") < strstr(s, "event=big"));
	free(s);
	gw_log_batch(NULL, NULL);
}

/* Close (and reopen) flush what waits. */
static void test_batch_close_flushes(void **state)
{
	size_t len;
	char *s;

	(void)state;
	gw_log_batch(count_arm, &arms);
	GW_LOG(GW_LOG_INFO, "pending");
	assert_int_equal(gw_log_reopen(), GW_OK);
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 1);
	free(s);
	GW_LOG(GW_LOG_INFO, "pending2");
	gw_log_close();
	s = slurp(path, &len);
	assert_int_equal(count_lines(s, len), 2);
	free(s);
	gw_log_batch(NULL, NULL);
	assert_int_equal(gw_log_open(path, GW_LOG_DEBUG, GW_LOG_LOGFMT), GW_OK);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_logfmt_basic),
		T(test_logfmt_no_fields_and_levels),
		T(test_logfmt_numbers),
		T(test_logfmt_quoting),
		T(test_logfmt_null_string),
		T(test_logfmt_no_line_injection),
		T(test_json_basic),
		T(test_json_escaping),
		T(test_level_filtering),
		T(test_level_runtime_change),
		T(test_level_off),
		T(test_reopen_after_rename),
		T(test_reopen_does_not_leak_fds),
		T(test_open_appends),
		T(test_open_errors),
		T(test_reopen_failure_keeps_old_file),
		T(test_truncation),
		T(test_truncation_many_fields),
		T(test_batch_waits_for_flush),
		T(test_batch_warn_flushes_in_order),
		T(test_batch_bounded_and_whole_lines),
		T(test_batch_close_flushes),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
