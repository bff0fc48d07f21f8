#include "common/base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool base64_decode(const char *in, size_t n, void *out, size_t *out_len)
{
	unsigned char *o = out;
	size_t len = 0;
	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int a = value(in[i]), b = value(in[i + 1]);
		int c = in[i + 2] == '=' ? -2 : value(in[i + 2]);
		int d = in[i + 3] == '=' ? -2 : value(in[i + 3]);
		bool last = i + 4 == n;
		if (a < 0 || b < 0 || c == -1 || d == -1)
			return false;
		if ((c == -2 || d == -2) && !last)
			return false; /* padding only at the very end */
		if (c == -2 && d != -2)
			return false;
		o[len++] = (unsigned char)(a << 2 | b >> 4);
		if (c == -2) {
			if (b & 15)
				return false; /* non-canonical: stray bits */
			break;
		}
		o[len++] = (unsigned char)((b & 15) << 4 | c >> 2);
		if (d == -2) {
			if (c & 3)
				return false;
			break;
		}
		o[len++] = (unsigned char)((c & 3) << 6 | d);
	}
	*out_len = len;
	return true;
}
