/* glob.c - UTF-8 sequences and glob patterns, shared by the tools in
   examples/: included by examples/inspect.c (before its other parts) and by
   examples/convert.c. Needs <stdint.h> and <string.h>. */

/* ---------------------------------------------------------------------
   UTF-8
   --------------------------------------------------------------------- */

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it
   is ill-formed; then *skip is the length of the maximal ill-formed subpart,
   which counts as one replacement (the Unicode recommendation, which
   Python's errors="replace" and WHATWG follow). Overlongs, surrogates and
   code points above U+10FFFF are ill-formed. */
static size_t utf8_sequence(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else {
        *skip = 1;
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *skip = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* The code point of a well-formed sequence of `len` bytes. */
static uint32_t utf8_decode(const unsigned char *s, size_t len)
{
    static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t cp = s[0] & lead_mask[len];
    size_t i;
    for (i = 1; i < len; i++) cp = (cp << 6) | (s[i] & 0x3Fu);
    return cp;
}

/* ---------------------------------------------------------------------
   Globs: *, ? and [...] on code points, matched on the whole name
   --------------------------------------------------------------------- */

/* Marks a byte that does not start well-formed UTF-8: it stands for
   itself, and equals no code point. */
#define RAW_BYTE 0x110000u

/* The code point at s[0..n) (n > 0) and its length in bytes. */
static uint32_t next_cp(const char *s, size_t n, size_t *len)
{
    size_t skip = 1;
    const unsigned char *u = (const unsigned char *)s;
    *len = utf8_sequence(u, n, &skip);
    if (*len == 0) {
        *len = 1;
        return RAW_BYTE | u[0];
    }
    return utf8_decode(u, *len);
}

/* Whether cp is in the class that starts after the '[' at pat[p]:
   "[abc]", "[a-z]", "[!a-z]" or "[^a-z]", a ']' first being literal.
   Returns -1 when the class has no closing ']' (the '[' is then literal),
   else 0 or 1, with *end just past the ']'. */
static int class_match(const char *pat, size_t plen, size_t p, uint32_t cp, size_t *end)
{
    int negate = 0, hit = 0;
    size_t len, start;
    if (p < plen && (pat[p] == '!' || pat[p] == '^')) {
        negate = 1;
        p++;
    }
    start = p;
    while (p < plen && (pat[p] != ']' || p == start)) {
        uint32_t lo = next_cp(pat + p, plen - p, &len), hi = lo;
        p += len;
        if (p + 1 < plen && pat[p] == '-' && pat[p + 1] != ']') {
            hi = next_cp(pat + p + 1, plen - p - 1, &len);
            p += 1 + len;
        }
        if (cp >= lo && cp <= hi) hit = 1;
    }
    if (p >= plen) return -1;
    *end = p + 1;
    return hit != negate;
}

/* Whether the pattern item at pat[p] (not '*') matches cp; *next is where
   the item ends. A backslash makes the character after it literal. */
static int item_match(const char *pat, size_t plen, size_t p, uint32_t cp, size_t *next)
{
    size_t len;
    uint32_t want;
    if (pat[p] == '?') {
        *next = p + 1;
        return 1;
    }
    if (pat[p] == '[') {
        int r = class_match(pat, plen, p + 1, cp, next);
        if (r >= 0) return r;
    } else if (pat[p] == '\\' && p + 1 < plen) {
        p++;
    }
    want = next_cp(pat + p, plen - p, &len);
    *next = p + len;
    return want == cp;
}

/* The whole of name[0..n) against the pattern. A '*' that fails to match
   further is retried one code point later, and only the last '*' is ever
   retried: time grows with the product of the two lengths, never
   exponentially, whatever the pattern. */
static int glob_match(const char *pat, const char *name, size_t n)
{
    size_t plen = strlen(pat), p = 0, i = 0, star_p = 0, star_i = 0, len, next;
    int have_star = 0;
    while (i < n) {
        uint32_t cp;
        if (p < plen && pat[p] == '*') {
            have_star = 1;
            star_p = ++p;
            star_i = i;
            continue;
        }
        cp = next_cp(name + i, n - i, &len);
        if (p < plen && item_match(pat, plen, p, cp, &next)) {
            p = next;
            i += len;
            continue;
        }
        if (!have_star) return 0;
        (void)next_cp(name + star_i, n - star_i, &len);
        star_i += len;
        i = star_i;
        p = star_p;
    }
    while (p < plen && pat[p] == '*') p++;
    return p == plen;
}
