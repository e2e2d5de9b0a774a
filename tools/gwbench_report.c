/*
 * gwbench_report.c — the report: every figure goes into a JSON object
 * (gwb_jparams, gwb_jresults) and, when it has a label, into a row of the
 * table printed at the end. One call per figure keeps the two in step.
 */
#include "gwbench.h"
#include "gw_common.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	char label[48];
	char text[200];
	int section;
} row_t;

static row_t rows[512];
static int nrows;
json_t *gwb_jparams, *gwb_jresults;

static void vrow(int section, const char *label, const char *fmt, va_list ap)
{
	row_t *r;

	if (nrows >= (int)GW_ARRAY_LEN(rows))
		return;
	r = &rows[nrows++];
	r->section = section;
	snprintf(r->label, sizeof(r->label), "%s", label);
	if (fmt)
		vsnprintf(r->text, sizeof(r->text), fmt, ap);
}

/* Records `v` (owned) under `key` in `obj` and, with a label, a table row. */
void gwb_put(json_t *obj, const char *key, json_t *v, const char *label,
		const char *fmt, ...)
{
	va_list ap;

	json_object_set_new(obj, key, v);
	if (!label)
		return;
	va_start(ap, fmt);
	vrow(0, label, fmt, ap);
	va_end(ap);
}

void gwb_add_row(const char *label, const char *text)
{
	if (nrows >= (int)GW_ARRAY_LEN(rows))
		return;
	rows[nrows].section = 0;
	snprintf(rows[nrows].label, sizeof(rows[nrows].label), "%s", label);
	snprintf(rows[nrows].text, sizeof(rows[nrows].text), "%s", text);
	nrows++;
}

void gwb_section(const char *title)
{
	if (nrows < (int)GW_ARRAY_LEN(rows)) {
		rows[nrows].section = 1;
		snprintf(rows[nrows].label, sizeof(rows[nrows].label), "%s", title);
		rows[nrows].text[0] = '\0';
		nrows++;
	}
}

void gwb_print_rows(int from, FILE *f)
{
	int i;

	for (i = from; i < nrows; i++) {
		if (rows[i].section)
			fprintf(f, "\n%s\n", rows[i].label);
		else
			fprintf(f, "  %-32s %s\n", rows[i].label, rows[i].text);
	}
}

double gwb_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

void gwb_put_hist(const char *key, const char *label, const gwb_hist_t *h)
{
	json_t *j = json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->count,
			      "min_ms", h->count ? gwb_ms(h->min) : 0.0,
			      "mean_ms", h->count ? gwb_ms(h->sum / h->count) : 0.0,
			      "p50_ms", gwb_ms(gwb_hist_pct(h, 50)), "p99_ms", gwb_ms(gwb_hist_pct(h, 99)),
			      "p999_ms", gwb_ms(gwb_hist_pct(h, 99.9)),
			      "max_ms", h->count ? gwb_ms(h->max) : 0.0);

	gwb_put(gwb_jresults, key, j, label, "p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms  (n=%llu)",
	    gwb_ms(gwb_hist_pct(h, 50)), gwb_ms(gwb_hist_pct(h, 99)), gwb_ms(gwb_hist_pct(h, 99.9)),
	    h->count ? gwb_ms(h->max) : 0.0, (unsigned long long)h->count);
}

int gwb_row_count(void)
{
	return nrows;
}
