/* tandem: INCRBYFLOAT / HINCRBYFLOAT arithmetic in the platform's `long double`, the type
 * Redis computes them in (80-bit extended precision on x86-64), parsed with strtold and
 * printed with printf's %.17Lf so the digits are the C library's, as Redis's. Rust has no
 * such type: values cross the boundary as opaque 16-byte blobs, always by pointer. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

_Static_assert(sizeof(long double) <= 16, "long double must fit the 16-byte blob");

/* Longest text accepted or produced, as Redis's MAX_LONG_DOUBLE_CHARS. */
#define TANDEM_LD_MAX_CHARS (5 * 1024)

typedef struct { _Alignas(16) unsigned char b[16]; } tandem_ld;

static long double get(const tandem_ld *v) { long double x; memcpy(&x, v->b, sizeof x); return x; }
static void put(tandem_ld *v, long double x) { memset(v->b, 0, sizeof v->b); memcpy(v->b, &x, sizeof x); }

/* Redis's string2ld rules: non-empty, shorter than the limit, no leading space, the whole
 * text consumed, no overflow/underflow to 0 or +-HUGE_VALL, not NaN. 1 when accepted. */
int tandem_ld_parse(const char *s, size_t len, tandem_ld *out) {
    char buf[TANDEM_LD_MAX_CHARS];
    char *end;
    long double x;
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    x = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' ||
        (errno == ERANGE && (x == HUGE_VALL || x == -HUGE_VALL || x == 0)) || errno == EINVAL || isnan(x))
        return 0;
    put(out, x);
    return 1;
}

void tandem_ld_from_i64(long long n, tandem_ld *out) { put(out, (long double)n); }

void tandem_ld_add(const tandem_ld *a, const tandem_ld *b, tandem_ld *out) { put(out, get(a) + get(b)); }

int tandem_ld_is_finite(const tandem_ld *a) { long double x = get(a); return !isnan(x) && !isinf(x); }

/* %.17Lf with the zeros after the point removed (and the point if nothing is left after
 * it), "-0" shown as "0": Redis's human-friendly form. Returns the length written into buf,
 * 0 when it does not fit. */
size_t tandem_ld_human(const tandem_ld *a, char *buf, size_t cap) {
    int l = snprintf(buf, cap, "%.17Lf", get(a));
    if (l < 0 || (size_t)l + 1 > cap) return 0;
    if (strchr(buf, '.') != NULL) {
        while (l > 0 && buf[l - 1] == '0') l--;
        if (l > 0 && buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; l = 1; }
    return (size_t)l;
}

void tandem_ld_from_double(double d, tandem_ld *out) { put(out, (long double)d); }

/* SORT's weights: strtod over the text up to its first NUL (as Redis reads an sds), refused
 * when anything is left over, on overflow/underflow (ERANGE) or NaN. Leading spaces are
 * accepted, as strtod accepts them. 1 when accepted. */
int tandem_sort_weight(const char *s, size_t len, double *out) {
    char small[128];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    char *end;
    int ok;
    if (buf == NULL) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    ok = !(*end != '\0' || errno == ERANGE || isnan(*out));
    if (buf != small) free(buf);
    return ok;
}
