#include "client/mime.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int client_mime_header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	if (!colon || colon == h || strpbrk(h, "\r\n"))
		return 0;
	for (const char *p = h; p < colon; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

/* The type of a file from its name and first octets, "application/octet-stream"
 * when nothing better is known. The caller frees it. */
static char *guess_type(const char *path, int fd)
{
	guchar head[4096];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	gboolean uncertain = FALSE;
	gchar *ct = g_content_type_guess(path, n > 0 ? head : NULL, n > 0 ? (gsize)n : 0, &uncertain);
	gchar *mime = ct ? g_content_type_get_mime_type(ct) : NULL;

	g_free(ct);
	if (!mime || !strchr(mime, '/')) {
		g_free(mime);
		mime = g_strdup("application/octet-stream");
	}
	return mime;
}

static GMimeObject *attachment(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *type = guess_type(path, fd);
	char *slash = strchr(type, '/');

	*slash = '\0';
	GMimePart *part = g_mime_part_new_with_type(type, slash + 1);
	GMimeStream *fs = g_mime_stream_fs_new(fd); /* owns fd */
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(fs, GMIME_CONTENT_ENCODING_DEFAULT);
	const char *base = strrchr(path, '/');

	/* a text file that is UTF-8 says so, or readers guess its charset */
	if (strcmp(type, "text") == 0) {
		gchar *all = NULL;
		gsize len = 0;

		if (g_file_get_contents(path, &all, &len, NULL) && g_utf8_validate(all, (gssize)len, NULL))
			g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
		g_free(all);
	}
	g_mime_part_set_content(part, dw);
	g_mime_part_set_filename(part, base ? base + 1 : path);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(dw);
	g_object_unref(fs);
	g_free(type);
	return GMIME_OBJECT(part);
}

int client_mime_build(struct buf *out, const struct client_msg_fields *f,
	const char *const *headers, size_t nheaders, const char *const *files, size_t nfiles,
	char *err, size_t errlen)
{
	int rc = -1;

	g_mime_init();
	GMimeMessage *m = g_mime_message_new(TRUE);
	GMimeTextPart *text = g_mime_text_part_new_with_subtype("plain");
	GMimeObject *body = GMIME_OBJECT(text);

	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, NULL, f->from);
	for (size_t i = 0; i < f->nto; i++)
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, f->to[i]);
	if (f->subject)
		g_mime_message_set_subject(m, f->subject, "utf-8");
	g_mime_object_set_header(GMIME_OBJECT(m), "Date", f->date, NULL);
	g_mime_message_set_message_id(m, f->message_id);
	/* the text chooses its own charset and transfer encoding */
	g_mime_text_part_set_text(text, f->body ? f->body : "");
	if (nfiles > 0) {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

		g_mime_multipart_add(mixed, body);
		g_object_unref(body);
		body = GMIME_OBJECT(mixed);
		for (size_t i = 0; i < nfiles; i++) {
			GMimeObject *a = attachment(files[i], err, errlen);

			if (!a) {
				g_object_unref(body);
				goto done;
			}
			g_mime_multipart_add(mixed, a);
			g_object_unref(a);
		}
	}
	g_mime_message_set_mime_part(m, body); /* takes its own reference */
	g_object_unref(body);
	for (size_t i = 0; i < nheaders; i++) {
		const char *colon = strchr(headers[i], ':');
		char name[256];
		const char *value = colon + 1;

		if (!colon || (size_t)(colon - headers[i]) >= sizeof(name)) {
			snprintf(err, errlen, "--header %s: want \"Name: value\"", headers[i]);
			goto done;
		}
		memcpy(name, headers[i], (size_t)(colon - headers[i]));
		name[colon - headers[i]] = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
		g_mime_object_set_header(GMIME_OBJECT(m), name, value, "utf-8");
	}

	GMimeFormatOptions *fo = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();

	/* RFC 5321 2.3.8: lines end with CRLF on the wire */
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	if (g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, mem) < 0) {
		snprintf(err, errlen, "GMime could not write the message");
	} else {
		GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

		if (buf_append(out, ba->data, ba->len) != BUF_OK)
			snprintf(err, errlen, "message too large");
		else
			rc = 0;
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
done:
	g_object_unref(m);
	return rc;
}
