/*
 * gatewayctl_out.c — gatewayctl's human output (see gatewayctl.h): times,
 * ages, aligned fields and tables. --json bypasses all of it.
 */
#include "gatewayctl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void ctl_fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(buf, len, "-");
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

static void fmt_age(int64_t ms, char *buf, size_t len)
{
	int64_t s = (ms < 0 ? -ms : ms) / 1000;
	const char *sign = ms < 0 ? "-" : "";

	if (s < 60)
		snprintf(buf, len, "%s%.1fs", sign, (double)(ms < 0 ? -ms : ms) / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%s%dm%02ds", sign, (int)(s / 60), (int)(s % 60));
	else
		snprintf(buf, len, "%s%lldh%02dm", sign, (long long)(s / 3600), (int)(s / 60 % 60));
}

/* One value as text; "-" when missing. */
static void fmt_cell(const json_t *v, enum fmt f, char *buf, size_t len)
{
	if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (f != F_STR && json_is_number(v))
		(f == F_TIME ? ctl_fmt_time : fmt_age)((int64_t)json_number_value(v), buf, len);
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.2f", json_real_value(v));
	else
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
}

/* The document's scalar fields as aligned "key  value" lines. */
void ctl_print_fields(json_t *doc)
{
	char cell[CTL_CELL_MAX];
	const char *key;
	json_t *v;
	int w = 0;

	json_object_foreach(doc, key, v)
		if (!json_is_array(v) && !json_is_object(v))
			w = GW_MAX(w, (int)strlen(key));
	json_object_foreach(doc, key, v)
		if (!json_is_array(v) && !json_is_object(v)) {
			fmt_cell(v, F_STR, cell, sizeof(cell));
			printf("%-*s  %s\n", w, key, cell);
		}
}

/* Display width of UTF-8 text: its code points (continuations do not count). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void print_cell(const char *s, size_t w, int last)
{
	printf("%s%*s", s, last ? 0 : (int)(w - width(s) + 2), last ? "\n" : "");
}

/* Rows as columns padded to their widest cell, without trailing blanks. */
void ctl_print_table(const json_t *rows, const struct column *cols)
{
	size_t w[8] = { 0 }, n, i;
	char cell[CTL_CELL_MAX];
	const json_t *row;

	for (n = 0; n < GW_ARRAY_LEN(w) && cols[n].key; n++)
		w[n] = width(cols[n].head);
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			w[k] = GW_MAX(w[k], width(cell));
		}
	for (size_t k = 0; k < n; k++)
		print_cell(cols[k].head, w[k], k + 1 == n);
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			print_cell(cell, w[k], k + 1 == n);
		}
}

