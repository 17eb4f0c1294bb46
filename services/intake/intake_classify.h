/*  intake_classify — intent, priority and forbidden phrases from editable keyword dictionaries.

    A dictionary is a JSON file (format: deploy/dictionaries/README.md) that a
    shop's supervisor edits; intake loads it at start-up and again on SIGHUP,
    keeping the old one when the new one is invalid. Usage:

        char path [PATH_MAX], why [256];
        intake_classify_t *dict = intake_classify_load (
            intake_classify_default_path (path, sizeof path), why, sizeof why);
        if (!dict)
            kf_log_error ("dictionary.invalid", "path=%s reason=\"%s\"", path, why);
        intake_classify_message (dict, body, len, &intent, &priority);
        int n = intake_classify_qa (dict, reply, reply_len, flags, 8);
        intake_classify_destroy (&dict);

    Matching is by substring, case-insensitive for ASCII letters only and
    exact for everything else (CJK, full-width letters). It does not
    understand negation: "不退款了" still contains 退款. A loaded dictionary
    is immutable, so one instance may be shared by several threads.
    Classifying never allocates, whatever the length of the text. */
#ifndef INTAKE_CLASSIFY_H
#define INTAKE_CLASSIFY_H

#include <stddef.h>

#include "kefu/v1/common.pb-c.h"

typedef struct _intake_classify_t intake_classify_t;

//  Load a dictionary file. NULL with a one-line reason in `why` (UTF-8, no
//  double quotes) when the path is NULL or the file is missing or invalid: bad
//  JSON, unknown key, intent or priority, empty, over-long, duplicate or
//  non-UTF-8 keyword, too many entries. Caller owns return value.
intake_classify_t *intake_classify_load (const char *path, char *why, size_t why_size)
    __attribute__ ((warn_unused_result));

//  Destroy a dictionary; NULL-safe and idempotent, nulls *self_p.
void intake_classify_destroy (intake_classify_t **self_p);

//  The dictionary path to use: $KEFU_INTAKE_DICTIONARY if set and non-empty,
//  else <prefix>/share/kefu/dictionaries/intents.json if it exists, where
//  <prefix> is the parent of the directory holding /proc/self/exe (installed
//  layout), else KEFU_SOURCE_DICTIONARY (the source tree's file, set by
//  CMake). Writes into buf and returns it, or NULL if it does not fit.
const char *intake_classify_default_path (char *buf, size_t size);

//  Intent and priority of a customer's message body[0..len) (need not be
//  NUL-terminated). Intents are tried in the file's order and the first one
//  with any matching keyword wins; no match gives INTENT_OTHER with the
//  dictionary's default priority.
void intake_classify_message (const intake_classify_t *self, const char *body, size_t len,
                              Kefu__V1__Intent *intent, Kefu__V1__Priority *priority);

//  Forbidden phrases (服务禁忌) in an agent's reply body[0..len): writes up to
//  max borrowed pointers to the phrase ids (e.g. "bu_ke_yi"), valid while the
//  dictionary lives, in the file's order, each id once; returns how many were
//  written (0..max).
int intake_classify_qa (const intake_classify_t *self, const char *body, size_t len,
                        const char **flags, int max);

//  The text of the forbidden phrase with this id ("不可以" for "bu_ke_yi"),
//  borrowed while the dictionary lives; NULL if there is none.
const char *intake_classify_phrase_text (const intake_classify_t *self, const char *id);

//  Number of intent keywords loaded (for logs).
int intake_classify_keyword_count (const intake_classify_t *self);

//  Number of forbidden phrases loaded (for logs).
int intake_classify_phrase_count (const intake_classify_t *self);

#endif
