/*  escalation_severity — the bad-review severity dictionary. */
#include "escalation_severity.h"

#include "kf_valid.h"

#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_WORDS_MAX 256
#define S_WORD_MAX  64

//  The bases, in the order of the file's "base" keys.
static const char *s_bases[] = {"stars_1", "stars_2", "stars_3", "negative", "neutral"};
enum { S_BASES = 5 };

struct _esc_severity_t {
    int base[S_BASES]; //  severity of each rating before the words
    char **words;      //  owned, lowercased ASCII
    int count;         //  words
};

static esc_severity_t *
s_fail (esc_severity_t **self_p, json_t *root, char *why, size_t why_size, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (why, why_size, fmt, args);
    va_end (args);
    json_decref (root);
    esc_severity_destroy (self_p);
    return NULL;
}

static void
s_lower (char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char) (*s - 'A' + 'a');
}

esc_severity_t *
esc_severity_load (const char *path, char *why, size_t why_size)
{
    json_error_t error;
    json_t *root = path ? json_load_file (path, JSON_REJECT_DUPLICATES, &error) : NULL;
    if (!root) {
        snprintf (why, why_size, "cannot read %s: %s (line %d)", path ? path : "(none)",
                  path ? error.text : "no path", path ? error.line : 0);
        return NULL;
    }
    esc_severity_t *self = calloc (1, sizeof *self);
    if (!json_is_object (root))
        return s_fail (&self, root, why, why_size, "the file is not a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value)
    {
        if (key[0] != '_' && strcmp (key, "base") && strcmp (key, "words"))
            return s_fail (&self, root, why, why_size, "unknown key %s", key);
    }
    json_t *base = json_object_get (root, "base");
    if (!json_is_object (base))
        return s_fail (&self, root, why, why_size, "base is missing or not an object");
    json_object_foreach (base, key, value)
    {
        int i = 0;
        while (i < S_BASES && strcmp (key, s_bases[i]))
            i++;
        if (i == S_BASES)
            return s_fail (&self, root, why, why_size,
                           "unknown base %s (stars_1, stars_2, stars_3, negative, neutral)", key);
        json_int_t v = json_is_integer (value) ? json_integer_value (value) : 0;
        if (v < 1 || v > 5)
            return s_fail (&self, root, why, why_size, "base %s must be 1..5", key);
        self->base[i] = (int) v;
    }
    for (int i = 0; i < S_BASES; i++)
        if (!self->base[i])
            return s_fail (&self, root, why, why_size, "base %s is missing", s_bases[i]);
    json_t *words = json_object_get (root, "words");
    if (!json_is_array (words))
        return s_fail (&self, root, why, why_size, "words is missing or not a list");
    if (json_array_size (words) > S_WORDS_MAX)
        return s_fail (&self, root, why, why_size, "more than %d words", S_WORDS_MAX);
    self->words = calloc (json_array_size (words) + 1, sizeof *self->words);
    size_t index;
    json_array_foreach (words, index, value)
    {
        const char *w = json_string_value (value);
        size_t len = w ? json_string_length (value) : 0;
        if (!w || len == 0 || len > S_WORD_MAX || strlen (w) != len ||
            kf_valid_utf8 ((const uint8_t *) w, len, &(size_t){0}))
            return s_fail (&self, root, why, why_size,
                           "words[%zu] must be a string of 1..%d bytes of UTF-8", index,
                           S_WORD_MAX);
        char *copy = strdup (w);
        s_lower (copy);
        for (int i = 0; i < self->count; i++)
            if (strcmp (self->words[i], copy) == 0) {
                free (copy);
                return s_fail (&self, root, why, why_size, "words[%zu] appears twice", index);
            }
        self->words[self->count++] = copy;
    }
    json_decref (root);
    return self;
}

void
esc_severity_destroy (esc_severity_t **self_p)
{
    if (*self_p) {
        esc_severity_t *self = *self_p;
        for (int i = 0; i < self->count; i++)
            free (self->words[i]);
        free (self->words);
        free (self);
        *self_p = NULL;
    }
}

const char *
esc_severity_default_path (void)
{
    return access (KEFU_INSTALLED_SEVERITY, F_OK) == 0 ? KEFU_INSTALLED_SEVERITY
                                                       : KEFU_SOURCE_SEVERITY;
}

int
esc_severity_of (const esc_severity_t *self, int stars, bool neutral, const char *text)
{
    assert (self);
    int sev = stars >= 1 && stars <= 3 ? self->base[stars - 1]
              : stars >= 4             ? 1
              : neutral                ? self->base[4]
                                       : self->base[3];
    if (!text)
        return sev;
    char *lower = strdup (text);
    s_lower (lower);
    for (int i = 0; i < self->count && sev < 5; i++)
        if (strstr (lower, self->words[i]))
            sev++;
    free (lower);
    return sev;
}

int
esc_severity_word_count (const esc_severity_t *self)
{
    return self ? self->count : 0;
}
