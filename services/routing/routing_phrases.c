/*  routing_phrases — checking and filling the shop's quick replies. */
#include "routing_phrases.h"

#include "kf_valid.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

//  Index = key: 0 the greeting, then Intent values 1..9 (common.proto).
static const char *s_keys[ROUTING_PHRASE_KEYS] = {
    "greeting",      "other",     "presales",      "bargaining", "urge_shipping",
    "delivery_time", "logistics", "return_refund", "complaint",  "negative_review"};

static const char *s_holes[] = {"agent_name", "shop_name", "customer_name", "order_id"};
#define S_HOLES    (sizeof s_holes / sizeof s_holes[0])
#define S_WORD_MAX 32 //  a {word} longer than this is text, not a placeholder

const char *
routing_phrase_key_name (int key)
{
    return key >= 0 && key < ROUTING_PHRASE_KEYS ? s_keys[key] : NULL;
}

int
routing_phrase_key (const char *name)
{
    for (int i = 0; name && i < ROUTING_PHRASE_KEYS; i++)
        if (strcmp (s_keys[i], name) == 0)
            return i;
    return -1;
}

//  At p (a '{'): the length of a {lower_case_word} placeholder, 0 if the
//  brace is plain text. *hole = its index in s_holes, -1 if unknown.
static size_t
s_placeholder (const char *p, const char *end, int *hole)
{
    const char *q = p + 1;
    while (q < end && q - p <= S_WORD_MAX && ((*q >= 'a' && *q <= 'z') || *q == '_'))
        q++;
    if (q == p + 1 || q >= end || *q != '}')
        return 0;
    size_t word = (size_t) (q - p - 1);
    *hole = -1;
    for (size_t i = 0; i < S_HOLES; i++)
        if (strlen (s_holes[i]) == word && memcmp (s_holes[i], p + 1, word) == 0)
            *hole = (int) i;
    return word + 2;
}

int
routing_phrase_check (const char *text, size_t len, char *why, size_t why_size)
{
    size_t bad_at;
    if (kf_valid_utf8 ((const uint8_t *) text, len, &bad_at)) {
        snprintf (why, why_size, "not valid UTF-8 (at byte %zu)", bad_at);
        return -1;
    }
    if (len > ROUTING_PHRASE_MAX) {
        snprintf (why, why_size, "%zu bytes, over the limit of %d", len, ROUTING_PHRASE_MAX);
        return -1;
    }
    bool blank = true;
    int holes = 0;
    const char *end = text + len;
    for (const char *p = text; p < end; p++) {
        unsigned char ch = (unsigned char) *p;
        if ((ch < 0x20 && ch != '\n') || ch == 0x7f) {
            snprintf (why, why_size, "a control character (0x%02x) at byte %zu", ch,
                      (size_t) (p - text));
            return -1;
        }
        if (ch != ' ' && ch != '\n')
            blank = false;
        int hole;
        size_t n = ch == '{' ? s_placeholder (p, end, &hole) : 0;
        if (!n)
            continue;
        if (hole < 0) {
            snprintf (why, why_size,
                      "unknown placeholder %.*s (known: {agent_name} {shop_name} "
                      "{customer_name} {order_id})",
                      (int) n, p);
            return -1;
        }
        if (++holes > ROUTING_PHRASE_HOLES_MAX) {
            snprintf (why, why_size, "more than %d placeholders", ROUTING_PHRASE_HOLES_MAX);
            return -1;
        }
        p += n - 1;
    }
    if (blank) {
        snprintf (why, why_size, "empty");
        return -1;
    }
    return 0;
}

int
routing_phrase_fill (const char *text, const routing_phrase_values_t *values, char *out,
                     size_t size)
{
    const char *given[S_HOLES] = {values->agent_name, values->shop_name, values->customer_name,
                                  values->order_id};
    const char *end = text + strlen (text);
    size_t used = 0;
    for (const char *p = text; p < end;) {
        int hole;
        size_t n = *p == '{' ? s_placeholder (p, end, &hole) : 0;
        const char *piece = p;
        size_t piece_len = 1;
        if (n && hole >= 0) {
            piece = given[hole];
            if (!piece || !*piece)
                return -1;
            piece_len = strnlen (piece, ROUTING_PHRASE_VALUE_MAX);
            p += n;
        } else
            p++;
        if (used + piece_len >= size)
            return -1;
        memcpy (out + used, piece, piece_len);
        used += piece_len;
    }
    if (used >= size)
        return -1;
    out[used] = '\0';
    return 0;
}
