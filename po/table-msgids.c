/* Print every text of the reply-code table (smtp/codes) as a .pot file on
 * stdout. The table's strings carry no gettext marker, so xgettext cannot
 * find them; this walks the table the way the code does. Built by meson
 * (postern-table-msgids) and by po/update-pot.sh. */
#include <stdio.h>
#include <string.h>

#include "smtp/codes.h"

/* Texts already printed: a .pot file holds each msgid once. */
struct seen {
	const char *s[2048];
	size_t n;
};

static void quote(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	puts("\"");
}

/* One entry; the first context wins for a text used twice. */
static int entry(struct seen *seen, const char *context, const char *s)
{
	if (!s || !s[0])
		return 0;
	for (size_t i = 0; i < seen->n; i++)
		if (strcmp(seen->s[i], s) == 0)
			return 0;
	if (seen->n == sizeof(seen->s) / sizeof(seen->s[0])) {
		fprintf(stderr, "table-msgids: more than %zu texts\n", seen->n);
		return -1;
	}
	seen->s[seen->n++] = s;
	printf("#. %s\n#: src/smtp/codes.c\nmsgid ", context);
	quote(s);
	puts("msgstr \"\"\n");
	return 0;
}

int main(void)
{
	static struct seen seen;
	char ctx[64];
	int rc = 0;

	puts("msgid \"\"\nmsgstr \"\"\n"
	     "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
	     "\"Content-Transfer-Encoding: 8bit\\n\"\n");
	for (int d = 0; d <= 9; d++) {
		snprintf(ctx, sizeof(ctx), "class of basic codes %dxx", d);
		rc |= entry(&seen, ctx, smtp_code_class_name(d));
		snprintf(ctx, sizeof(ctx), "category of basic codes x%dx", d);
		rc |= entry(&seen, ctx, smtp_code_category_name(d));
		snprintf(ctx, sizeof(ctx), "class of enhanced codes %d.x.x", d);
		rc |= entry(&seen, ctx, smtp_enh_class_name(d));
		snprintf(ctx, sizeof(ctx), "subject of enhanced codes x.%d.x", d);
		rc |= entry(&seen, ctx, smtp_enh_subject_name(d));
	}
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		const struct smtp_basic_code *c = smtp_code_basic_at(i);

		snprintf(ctx, sizeof(ctx), "%d: name", c->code);
		rc |= entry(&seen, ctx, c->name);
		snprintf(ctx, sizeof(ctx), "%d: meaning", c->code);
		rc |= entry(&seen, ctx, c->meaning);
		snprintf(ctx, sizeof(ctx), "%d: when a client sees it", c->code);
		rc |= entry(&seen, ctx, c->when);
		snprintf(ctx, sizeof(ctx), "%d: how to fix it", c->code);
		rc |= entry(&seen, ctx, c->fix);
	}
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);

		snprintf(ctx, sizeof(ctx), "X.%d.%d: name", e->subject, e->detail);
		rc |= entry(&seen, ctx, e->name);
		snprintf(ctx, sizeof(ctx), "X.%d.%d: meaning", e->subject, e->detail);
		rc |= entry(&seen, ctx, e->meaning);
		snprintf(ctx, sizeof(ctx), "X.%d.%d: when a client meets it", e->subject, e->detail);
		rc |= entry(&seen, ctx, e->when);
		snprintf(ctx, sizeof(ctx), "X.%d.%d: how to fix it", e->subject, e->detail);
		rc |= entry(&seen, ctx, e->fix);
	}
	for (size_t i = 0; i < smtp_code_seen_count(); i++) {
		const struct smtp_code_seen *s = smtp_code_seen_at(i);

		snprintf(ctx, sizeof(ctx), "seen in practice, %s: what it means", s->who);
		rc |= entry(&seen, ctx, s->meaning);
		snprintf(ctx, sizeof(ctx), "seen in practice, %s: the fix", s->who);
		rc |= entry(&seen, ctx, s->fix);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = -1;
	return rc ? 1 : 0;
}
