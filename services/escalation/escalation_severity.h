/*  escalation_severity — the severity of a bad review (1..5) from an
    editable dictionary (deploy/dictionaries/severity.json, format in the
    README there): the rating's base, plus one for each of the dictionary's
    words found in the review's text, up to 5. Substring matching, ASCII
    letters without regard to case.

    kefu-escalation loads it at start (a bad file stops the start) and
    again on SIGHUP (a bad file keeps the one in force); kefuctl review add
    loads it for each review. */
#ifndef ESCALATION_SEVERITY_H
#define ESCALATION_SEVERITY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _esc_severity_t esc_severity_t;

//  Load a dictionary file. NULL with a one-line reason in why when the
//  file is missing or invalid: bad JSON, an unknown key, a base outside
//  1..5 or missing, an empty, over-long (64 bytes), duplicate or non-UTF-8
//  word, more than 256 words. Caller owns return value.
esc_severity_t *esc_severity_load (const char *path, char *why, size_t why_size)
    __attribute__ ((warn_unused_result));
void esc_severity_destroy (esc_severity_t **self_p);

//  The file to use when none is configured: the installed one
//  (<datadir>/kefu/dictionaries/severity.json) if it exists, else the
//  source tree's. Borrowed.
const char *esc_severity_default_path (void);

//  Severity 1..5 of a review with stars (1..5), or 0 stars given as
//  neutral (neutral true) or negative, and text (may be NULL).
int esc_severity_of (const esc_severity_t *self, int stars, bool neutral, const char *text);

//  Number of words loaded (for logs).
int esc_severity_word_count (const esc_severity_t *self);

#endif
