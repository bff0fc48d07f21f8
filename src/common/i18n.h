/* The language of the messages people read (usage, errors, notes), shared by
 * postern and posternd: one text domain, one set of catalogues (po/). */
#ifndef POSTERN_COMMON_I18N_H
#define POSTERN_COMMON_I18N_H

#include <stdbool.h>

#define POSTERN_TEXTDOMAIN "postern"

/* Choose the language of messages. lang is --lang, or NULL to follow the
 * environment as gettext does (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
 * Sets *chosen to the language used ("en", "th"). Returns 0, or -1 when an
 * explicit lang has no catalogue. */
int postern_i18n_init(const char *lang, const char **chosen);
/* The translation of msgid in the chosen language (msgid itself in English,
 * and before postern_i18n_init). */
const char *postern_tr(const char *msgid) __attribute__((format_arg(1)));
/* Whether postern_tr translates at all. */
bool postern_translating(void);

#define _(s) postern_tr(s)
/* Marks a msgid for xgettext without translating it here. */
#define N_(s) s

#endif
