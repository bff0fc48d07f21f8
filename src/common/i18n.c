/* The language of the messages people read, for postern and posternd alike:
 * GNU gettext, text domain "postern", the catalogues of po/ (po/README.md).
 * Logs and protocol replies are never translated. */
#include "common/i18n.h"

#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef POSTERN_LOCALEDIR
#define POSTERN_LOCALEDIR "/usr/local/share/locale"
#endif
/* languages with a catalogue in po/, space-separated (from po/LINGUAS) */
#ifndef POSTERN_LANGUAGES
#define POSTERN_LANGUAGES ""
#endif

static bool translating;

bool postern_translating(void)
{
	return translating;
}

const char *postern_tr(const char *msgid)
{
	/* dgettext("") would return the catalogue header */
	if (!translating || !msgid[0])
		return msgid;
	return dgettext(POSTERN_TEXTDOMAIN, msgid);
}

/* POSTERN_LOCALEDIR in the environment, then the catalogues of the build
 * tree (so tests and uninstalled builds find them), then the installed ones. */
static const char *locale_dir(void)
{
	const char *env = getenv("POSTERN_LOCALEDIR");

	if (env && env[0])
		return env;
#ifdef POSTERN_BUILD_LOCALEDIR
	if (access(POSTERN_BUILD_LOCALEDIR, R_OK | X_OK) == 0)
		return POSTERN_BUILD_LOCALEDIR;
#endif
	return POSTERN_LOCALEDIR;
}

static bool is_c_locale(const char *s)
{
	return !s || strcmp(s, "C") == 0 || strcmp(s, "POSIX") == 0;
}

/* The language part of "th_TH.UTF-8@mod" ("th"), n octets of it. */
static size_t lang_base(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != '_' && s[i] != '.' && s[i] != '@' && s[i] != '-')
		i++;
	return i;
}

static bool base_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncmp(s, word, n) == 0;
}

static bool base_is_english(const char *s, size_t n)
{
	return n == 0 || base_is(s, n, "en") || base_is(s, n, "C") || base_is(s, n, "POSIX");
}

/* Whether po/LINGUAS lists the language s[0..n). */
static bool base_available(const char *s, size_t n)
{
	const char *p = POSTERN_LANGUAGES;

	while (*p) {
		size_t len = strcspn(p, " ");

		if (len == n && strncmp(p, s, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

/* The language list gettext would use: LANGUAGE unless the locale is
 * explicitly C or POSIX (LC_ALL=C gives English, as scripts expect), else
 * the first of LC_ALL, LC_MESSAGES, LANG. */
static const char *env_language(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	const char *loc = NULL;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !loc; i++) {
		const char *v = getenv(vars[i]);

		if (v && v[0])
			loc = v;
	}
	if (loc && is_c_locale(loc))
		return NULL;
	const char *language = getenv("LANGUAGE");

	if (language && language[0])
		return language;
	return loc;
}

/* Walk a LANGUAGE-style list ("th:en"): the first entry that is English or
 * has a catalogue decides. */
static const char *pick_language(const char *list)
{
	static char chosen[16];
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, ":");
		size_t n = lang_base(p, len);

		if (base_is_english(p, n) && len > 0)
			return NULL;
		if (base_available(p, n) && n < sizeof(chosen)) {
			memcpy(chosen, p, n);
			chosen[n] = '\0';
			return chosen;
		}
		p += len;
		p += strspn(p, ":");
	}
	return NULL;
}

int postern_i18n_init(const char *lang, const char **chosen)
{
	const char *pick;

	translating = false;
	*chosen = "en";
	if (lang) {
		size_t n = lang_base(lang, strlen(lang));

		if (base_is_english(lang, n))
			return 0;
		if (!base_available(lang, n) || strchr(lang, ':'))
			return -1;
		pick = pick_language(lang);
	} else {
		pick = pick_language(env_language());
	}
	if (!pick)
		return 0;
	/* gettext ignores LANGUAGE in the C locale, and th_TH.UTF-8 need not be
	 * installed: fall back to C.UTF-8, which glibc always has, and name the
	 * catalogue through LANGUAGE. */
	if (!setlocale(LC_ALL, "") || is_c_locale(setlocale(LC_MESSAGES, NULL)))
		setlocale(LC_ALL, "C.UTF-8");
	if (is_c_locale(setlocale(LC_MESSAGES, NULL)))
		return 0; /* no UTF-8 locale at all: stay in English */
	if (setenv("LANGUAGE", pick, 1) != 0)
		return 0;
	if (!bindtextdomain(POSTERN_TEXTDOMAIN, locale_dir()) ||
	    !bind_textdomain_codeset(POSTERN_TEXTDOMAIN, "UTF-8"))
		return 0;
	translating = true;
	*chosen = pick;
	return 0;
}
