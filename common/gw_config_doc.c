/*
 * gw_config_doc.c — the settings table as `gateway --help` text and as
 * docs/config.md (Markdown), both generated from the rows in gw_config.c.
 */
#include "gw_config_int.h"

#include <stdio.h>
#include <string.h>

#define opts gw_config_opts
#define N_OPTS gw_config_nopts

static const char *const type_names[] = { "string", "integer", "bool", "enum" };

/* "1..300", "replace, reject, multi", "true, false" or the row's text. */
static void print_allowed(FILE *out, const struct opt *o, const char *sep)
{
	switch (o->type) {
	case T_INT:
		fprintf(out, "%ld..%ld", o->min, o->max);
		break;
	case T_BOOL:
		fprintf(out, "true%sfalse", sep);
		break;
	case T_ENUM:
		for (size_t i = 0; o->choices[i]; i++)
			fprintf(out, "%s%s", i ? sep : "", o->choices[i]);
		break;
	case T_STRING:
		fputs(o->expect, out);
		break;
	}
}

void gw_config_help(FILE *out, const char *prog)
{
	const char *base = prog ? strrchr(prog, '/') : NULL;

	prog = base ? base + 1 : prog ? prog : "gateway";
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"\n"
		"Runs one WebSocket gateway node. Settings are read, lowest precedence first,\n"
		"from built-in defaults, the --config file, the environment and the flags.\n"
		"Flags take `--name value` or `--name=value`; a bare boolean flag means true\n"
		"and --no-NAME false. The file holds `name = value` lines and '#' comments.\n"
		"\n"
		"Options:\n",
		prog);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];
		char flag[64];

		if (o->type == T_BOOL)
			snprintf(flag, sizeof(flag), "--[no-]%s", o->name);
		else if (o->type == T_ENUM)
			snprintf(flag, sizeof(flag), "--%s NAME", o->name);
		else
			snprintf(flag, sizeof(flag), "--%s %s", o->name, o->meta);
		fprintf(out, "  %-32s env %s\n      %s\n      ", flag, o->env, o->help);
		if (o->flags & F_REQUIRED)
			fputs("required", out);
		else if (*o->def)
			fprintf(out, "default %s", o->def);
		else
			fputs("default empty", out);
		fputs("; allowed: ", out);
		print_allowed(out, o, "|");
		fputc('\n', out);
	}
	fputs("  --help, -h\n      Print this help and exit.\n"
	      "  --help-markdown\n      Print the settings as Markdown (docs/config.md) and exit.\n"
	      "  --version\n      Print the version, the commit and the libwebsockets revision, and exit.\n",
	      out);
}

/* Writes `s` for a Markdown table cell: '|' escaped. */
static void md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void gw_config_markdown(FILE *out)
{
	fputs("# Gateway configuration\n"
	      "\n"
	      "<!-- Generated from the table in common/gw_config.c by build/bin/gwconfig-doc\n"
	      "     (or `gateway --help-markdown`); tests/unit/test_config.c fails when this\n"
	      "     file and the table disagree. Do not edit by hand. -->\n"
	      "\n"
	      "Every setting can be given as a flag, an environment variable or a line in a\n"
	      "config file. Precedence, lowest first: the built-in default, the file named by\n"
	      "`--config` (or `GW_CONFIG`), the environment, the flags. Flags take\n"
	      "`--name value` or `--name=value`; booleans accept true/false, 1/0, yes/no and\n"
	      "on/off, a bare `--presence-events` means true and `--no-presence-events` false.\n"
	      "The file holds one `name = value` per line, where `name` is the flag without\n"
	      "its dashes (`max-connections = 10`) or in snake case (`max_connections = 10`);\n"
	      "blank lines and lines starting with `#` are ignored, a value is the rest of the\n"
	      "line with surrounding blanks removed (no quoting), and an unknown name is an\n"
	      "error. An environment variable set to the empty string counts as set. A bad\n"
	      "value stops start-up with a message naming the setting and what is allowed.\n"
	      "\n"
	      "| Flag | Environment | Type | Default | Allowed | Description |\n"
	      "|---|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];

		fprintf(out, "| `--%s` | `%s` | %s | ", o->name, o->env, type_names[o->type]);
		if (o->flags & F_REQUIRED)
			fputs("*required*", out);
		else if (*o->def)
			fprintf(out, "`%s`", o->def);
		else
			fputs("*empty*", out);
		fputs(" | ", out);
		if (o->type == T_STRING) {
			md_text(out, o->expect);
		} else {
			fputc('`', out);
			print_allowed(out, o, "`, `");
			fputc('`', out);
		}
		fputs(" | ", out);
		md_text(out, o->help);
		fputs(" |\n", out);
	}
}
