/*  intake_classify — intent, priority and forbidden phrases from editable keyword dictionaries.

    Each list (intent keywords, forbidden phrases) is compiled into one
    Aho-Corasick automaton over bytes, completed into a DFA: classifying a
    message is one table lookup per byte, whatever the number of keywords,
    with no copy and no allocation. ASCII case folding lives in the byte-class
    table (A-Z share the class of a-z), so the text is never lower-cased.

    To keep the table small, bytes are mapped to classes first: only bytes that
    occur in some entry get a class of their own (a Chinese dictionary uses
    about a hundred), every other byte is class 0 and leads back to the root.
    The limits below bound the table at a few MB even for a hostile file; the
    shipped dictionary needs well under 1 MB. */
#include "intake_classify.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kf_valid.h"

#ifndef KEFU_SOURCE_DICTIONARY
#define KEFU_SOURCE_DICTIONARY "deploy/dictionaries/intents.json"
#endif

#define INTENTS_MAX     8     //  every Intent but UNSPECIFIED and OTHER
#define KEYWORDS_MAX    2048  //  keywords over all intents
#define PHRASES_MAX     256   //  forbidden phrases
#define ENTRY_BYTES_MAX 64    //  one keyword or phrase, bytes of UTF-8
#define ID_BYTES_MAX    64    //  one phrase id
#define TOTAL_BYTES_MAX 16384 //  all keywords (or all phrases) together: bounds the states

//  One keyword or phrase while loading; text is borrowed from the JSON tree.
typedef struct {
    const char *text; //  as written in the file (folding happens in the automaton)
    size_t len;       //  bytes
    int value;        //  what a match means: intent rank, or phrase index
} entry_t;

//  An Aho-Corasick automaton completed into a DFA over byte classes.
typedef struct {
    uint8_t cls[256]; //  input byte -> class; 0: byte in no entry; A-Z share a-z's class
    size_t classes;   //  number of classes, class 0 included
    size_t states;    //  states in use; state 0 is the root (nothing matched yet)
    uint16_t *next;   //  next [state * classes + class]: the transition, complete
    int16_t *value;   //  value [state]: the entry ending exactly here, -1 if none
    uint16_t *link;   //  link [state]: longest proper suffix state with a value, 0 if none
} automaton_t;

struct _intake_classify_t {
    automaton_t keywords;                     //  intent keywords -> rank (index in intent order)
    automaton_t phrases;                      //  forbidden phrases -> phrase index
    int intent_count;                         //  intents in the file, in precedence order
    Kefu__V1__Intent intent[INTENTS_MAX];     //  by rank: the intent
    Kefu__V1__Priority priority[INTENTS_MAX]; //  by rank: its priority
    Kefu__V1__Priority default_priority;      //  when nothing matches (INTENT_OTHER)
    int keyword_count;                        //  keywords over all intents
    int phrase_count;                         //  forbidden phrases
    char **phrase_id;                         //  by phrase index: its id, owned
    char **phrase_text;                       //  by phrase index: its text, owned
};

static const struct {
    const char *name;
    Kefu__V1__Intent intent;
} s_intents[] = {
    {"presales", KEFU__V1__INTENT__INTENT_PRESALES},
    {"bargaining", KEFU__V1__INTENT__INTENT_BARGAINING},
    {"urge_shipping", KEFU__V1__INTENT__INTENT_URGE_SHIPPING},
    {"delivery_time", KEFU__V1__INTENT__INTENT_DELIVERY_TIME},
    {"logistics", KEFU__V1__INTENT__INTENT_LOGISTICS},
    {"return_refund", KEFU__V1__INTENT__INTENT_RETURN_REFUND},
    {"complaint", KEFU__V1__INTENT__INTENT_COMPLAINT},
    {"negative_review", KEFU__V1__INTENT__INTENT_NEGATIVE_REVIEW},
};
#define INTENT_NAMES                                                                               \
    "presales, bargaining, urge_shipping, delivery_time, logistics, return_refund, complaint, "    \
    "negative_review"

static const char *
s_intent_name (Kefu__V1__Intent intent)
{
    for (size_t i = 0; i < INTENTS_MAX; i++)
        if (s_intents[i].intent == intent)
            return s_intents[i].name;
    return "other";
}

static const struct {
    const char *name;
    Kefu__V1__Priority priority;
} s_priorities[] = {
    {"low", KEFU__V1__PRIORITY__PRIORITY_LOW},
    {"normal", KEFU__V1__PRIORITY__PRIORITY_NORMAL},
    {"high", KEFU__V1__PRIORITY__PRIORITY_HIGH},
    {"urgent", KEFU__V1__PRIORITY__PRIORITY_URGENT},
};

//  Write a reason into why and return -1. The reason may quote the file, so it
//  is cut back to whole UTF-8 characters and double quotes become single ones:
//  callers put it inside reason="..." in log lines.
static int __attribute__ ((format (printf, 3, 4)))
s_why (char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || why_size == 0)
        return -1;
    va_list args;
    va_start (args, fmt);
    vsnprintf (why, why_size, fmt, args);
    va_end (args);
    size_t bad_at;
    if (kf_valid_utf8 ((const uint8_t *) why, strlen (why), &bad_at) != 0)
        why[bad_at] = 0;
    for (char *c = why; *c; c++)
        if (*c == '"' || (unsigned char) *c < 0x20)
            *c = *c == '"' ? '\'' : ' ';
    return -1;
}

//  ---------------------------------------------------------------------------
//  The automaton

//  Compile entries into ac. Returns 0; or -1 with *dup the index of an entry
//  that repeats an earlier one (ignoring ASCII case); or -1 with *dup = count
//  when out of memory. entries hold at most TOTAL_BYTES_MAX bytes together.
static int
s_automaton_build (automaton_t *ac, const entry_t *entries, size_t count, size_t *dup)
{
    *dup = count;
    //  Classes: one per distinct byte in the entries, upper case folded to lower.
    memset (ac->cls, 0, sizeof ac->cls);
    ac->classes = 1;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        total += entries[i].len;
        for (size_t k = 0; k < entries[i].len; k++) {
            uint8_t b = (uint8_t) entries[i].text[k];
            if (b >= 'A' && b <= 'Z')
                b = (uint8_t) (b - 'A' + 'a');
            if (ac->cls[b] == 0)
                ac->cls[b] = (uint8_t) ac->classes++;
        }
    }
    for (int c = 'A'; c <= 'Z'; c++)
        ac->cls[c] = ac->cls[c - 'A' + 'a'];
    assert (total <= TOTAL_BYTES_MAX);

    //  The trie: at most one state per entry byte, plus the root.
    size_t states_max = total + 1;
    size_t width = ac->classes; //  one row of the table
    ac->next = calloc (states_max * width, sizeof *ac->next);
    ac->value = malloc (states_max * sizeof *ac->value);
    ac->link = calloc (states_max, sizeof *ac->link);
    uint16_t *fail = calloc (states_max, sizeof *fail);
    uint16_t *queue = malloc (states_max * sizeof *queue);
    if (!ac->next || !ac->value || !ac->link || !fail || !queue)
        goto failed;
    ac->value[0] = -1;
    ac->states = 1;
    for (size_t i = 0; i < count; i++) {
        size_t s = 0;
        for (size_t k = 0; k < entries[i].len; k++) {
            size_t c = ac->cls[(uint8_t) entries[i].text[k]];
            if (ac->next[s * width + c] == 0) {
                ac->value[ac->states] = -1;
                ac->next[s * width + c] = (uint16_t) ac->states++;
            }
            s = ac->next[s * width + c];
        }
        if (ac->value[s] >= 0) {
            *dup = i;
            goto failed;
        }
        ac->value[s] = (int16_t) entries[i].value;
    }

    //  Breadth first, so a state's fail state (always shallower) is complete
    //  before it is used. A missing transition becomes the fail state's one.
    size_t head = 0, tail = 0;
    for (size_t c = 0; c < width; c++)
        if (ac->next[c])
            queue[tail++] = ac->next[c]; //  depth 1: fail = root, link = none
    while (head < tail) {
        size_t s = queue[head++];
        for (size_t c = 0; c < width; c++) {
            size_t child = ac->next[s * width + c];
            size_t f = ac->next[fail[s] * width + c];
            if (child) {
                fail[child] = (uint16_t) f;
                ac->link[child] = ac->value[f] >= 0 ? (uint16_t) f : ac->link[f];
                queue[tail++] = (uint16_t) child;
            } else
                ac->next[s * width + c] = (uint16_t) f;
        }
    }
    free (fail);
    free (queue);
    uint16_t *shrunk = realloc (ac->next, ac->states * width * sizeof *ac->next);
    if (shrunk)
        ac->next = shrunk;
    return 0;

failed:
    free (fail);
    free (queue);
    return -1;
}

static void
s_automaton_free (automaton_t *ac)
{
    free (ac->next);
    free (ac->value);
    free (ac->link);
    memset (ac, 0, sizeof *ac);
}

//  ---------------------------------------------------------------------------
//  Loading

//  Fail if obj has a key not in allowed (NULL-terminated). Keys starting with
//  '_' are notes for people and are ignored.
static int
s_check_keys (json_t *obj, const char *const *allowed, const char *where, char *why,
              size_t why_size)
{
    const char *key;
    json_t *member;
    json_object_foreach (obj, key, member)
    {
        bool known = key[0] == '_';
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp (key, allowed[i]) == 0;
        if (!known)
            return s_why (why, why_size, "%sunknown key '%s'", where, key);
    }
    return 0;
}

static int
s_priority (json_t *value, const char *where, Kefu__V1__Priority *priority, char *why,
            size_t why_size)
{
    if (!json_is_string (value))
        return s_why (why, why_size, "%spriority must be a string: low, normal, high or urgent",
                      where);
    for (size_t i = 0; i < sizeof s_priorities / sizeof s_priorities[0]; i++)
        if (strcmp (json_string_value (value), s_priorities[i].name) == 0) {
            *priority = s_priorities[i].priority;
            return 0;
        }
    return s_why (why, why_size, "%sunknown priority '%s' (expected low, normal, high or urgent)",
                  where, json_string_value (value));
}

//  A keyword or phrase: a non-empty string of UTF-8 without control
//  characters or surrounding spaces (invisible in an editor, and a trailing
//  space would never match at the end of a message).
static int
s_entry (json_t *value, const char *where, const char *what, size_t n, entry_t *entry, char *why,
         size_t why_size)
{
    char label[32]; //  "keyword 3", or "text" when n is 0
    if (n)
        snprintf (label, sizeof label, "%s %zu", what, n);
    else
        snprintf (label, sizeof label, "%s", what);
    if (!json_is_string (value))
        return s_why (why, why_size, "%s%s is missing or not a string", where, label);
    const char *s = json_string_value (value);
    size_t len = json_string_length (value);
    size_t bad_at;
    if (len == 0)
        return s_why (why, why_size, "%s%s is empty", where, label);
    if (kf_valid_utf8 ((const uint8_t *) s, len, &bad_at) != 0)
        return s_why (why, why_size, "%s%s is not valid UTF-8 (byte %zu)", where, label, bad_at);
    if (len > ENTRY_BYTES_MAX)
        return s_why (why, why_size, "%s%s '%s' is over %d bytes", where, label, s,
                      ENTRY_BYTES_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7F)
            return s_why (why, why_size, "%s%s contains a control character", where, label);
    if (s[0] == ' ' || s[len - 1] == ' ')
        return s_why (why, why_size, "%s%s '%s' starts or ends with a space", where, label, s);
    entry->text = s;
    entry->len = len;
    return 0;
}

//  The index of the earlier entry equal to entries[dup], ignoring ASCII case.
static size_t
s_first_equal (const entry_t *entries, size_t dup)
{
    for (size_t i = 0; i < dup; i++)
        if (entries[i].len == entries[dup].len &&
            strncasecmp (entries[i].text, entries[dup].text, entries[i].len) == 0)
            return i;
    return dup;
}

static int
s_load_intents (intake_classify_t *self, json_t *intents, entry_t *entries, char *why,
                size_t why_size)
{
    static const char *const keys[] = {"intent", "priority", "keywords", NULL};
    if (!json_is_array (intents))
        return s_why (why, why_size, "'intents' must be an array");
    if (json_array_size (intents) > INTENTS_MAX)
        return s_why (why, why_size, "too many intents (at most %d)", INTENTS_MAX);
    size_t count = 0, total = 0;
    size_t rank;
    json_t *item;
    json_array_foreach (intents, rank, item)
    {
        char where[64];
        snprintf (where, sizeof where, "intents entry %zu: ", rank + 1);
        if (!json_is_object (item))
            return s_why (why, why_size, "%snot an object", where);
        if (s_check_keys (item, keys, where, why, why_size))
            return -1;
        json_t *name = json_object_get (item, "intent");
        if (!json_is_string (name))
            return s_why (why, why_size, "%s'intent' must be a string", where);
        const char *intent_name = json_string_value (name);
        size_t i = 0;
        while (i < INTENTS_MAX && strcmp (intent_name, s_intents[i].name))
            i++;
        if (i == INTENTS_MAX) {
            if (strcmp (intent_name, "other") == 0)
                return s_why (why, why_size,
                              "%s'other' is the result when nothing matches and takes no keywords",
                              where);
            return s_why (why, why_size, "%sunknown intent '%s' (expected " INTENT_NAMES ")", where,
                          intent_name);
        }
        for (int r = 0; r < self->intent_count; r++)
            if (self->intent[r] == s_intents[i].intent)
                return s_why (why, why_size, "%sintent '%s' appears twice", where, intent_name);
        snprintf (where, sizeof where, "intent '%s': ", intent_name);
        self->intent[rank] = s_intents[i].intent;
        if (s_priority (json_object_get (item, "priority"), where, &self->priority[rank], why,
                        why_size))
            return -1;
        self->intent_count++;

        json_t *keywords = json_object_get (item, "keywords");
        if (!json_is_array (keywords))
            return s_why (why, why_size, "%s'keywords' must be an array of strings", where);
        size_t k;
        json_t *keyword;
        json_array_foreach (keywords, k, keyword)
        {
            if (count == KEYWORDS_MAX)
                return s_why (why, why_size, "too many keywords (at most %d in all)", KEYWORDS_MAX);
            if (s_entry (keyword, where, "keyword", k + 1, &entries[count], why, why_size))
                return -1;
            total += entries[count].len;
            if (total > TOTAL_BYTES_MAX)
                return s_why (why, why_size, "keywords too long (at most %d bytes in all)",
                              TOTAL_BYTES_MAX);
            entries[count++].value = (int) rank;
        }
    }
    size_t dup;
    if (s_automaton_build (&self->keywords, entries, count, &dup)) {
        if (dup == count)
            return s_why (why, why_size, "out of memory");
        const entry_t *first = &entries[s_first_equal (entries, dup)];
        return s_why (why, why_size, "keyword '%.*s' is listed twice (under %s and %s)",
                      (int) entries[dup].len, entries[dup].text,
                      s_intent_name (self->intent[first->value]),
                      s_intent_name (self->intent[entries[dup].value]));
    }
    self->keyword_count = (int) count;
    return 0;
}

//  A phrase id: 1..ID_BYTES_MAX of [a-z0-9_], stable across edits of the text
//  because QA flags are stored and counted by it.
static bool
s_valid_id (const char *id)
{
    size_t len = strlen (id);
    if (len == 0 || len > ID_BYTES_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
            return false;
    return true;
}

static int
s_load_phrases (intake_classify_t *self, json_t *phrases, entry_t *entries, char *why,
                size_t why_size)
{
    static const char *const keys[] = {"id", "text", NULL};
    if (!json_is_array (phrases))
        return s_why (why, why_size, "'forbidden_phrases' must be an array");
    size_t count = json_array_size (phrases);
    if (count > PHRASES_MAX)
        return s_why (why, why_size, "too many forbidden phrases (at most %d)", PHRASES_MAX);
    self->phrase_id = calloc (count + 1, sizeof *self->phrase_id);
    self->phrase_text = calloc (count + 1, sizeof *self->phrase_text);
    if (!self->phrase_id || !self->phrase_text)
        return s_why (why, why_size, "out of memory");
    size_t total = 0;
    size_t n;
    json_t *item;
    json_array_foreach (phrases, n, item)
    {
        char where[64];
        snprintf (where, sizeof where, "forbidden_phrases entry %zu: ", n + 1);
        if (!json_is_object (item))
            return s_why (why, why_size, "%snot an object", where);
        if (s_check_keys (item, keys, where, why, why_size))
            return -1;
        json_t *id = json_object_get (item, "id");
        if (!json_is_string (id) || !s_valid_id (json_string_value (id)))
            return s_why (why, why_size, "%s'id' must be 1 to %d characters of a-z, 0-9 and _",
                          where, ID_BYTES_MAX);
        for (size_t i = 0; i < n; i++)
            if (strcmp (self->phrase_id[i], json_string_value (id)) == 0)
                return s_why (why, why_size, "%sid '%s' appears twice", where,
                              json_string_value (id));
        if (s_entry (json_object_get (item, "text"), where, "text", 0, &entries[n], why, why_size))
            return -1;
        total += entries[n].len;
        if (total > TOTAL_BYTES_MAX)
            return s_why (why, why_size, "forbidden phrases too long (at most %d bytes in all)",
                          TOTAL_BYTES_MAX);
        entries[n].value = (int) n;
        self->phrase_id[n] = strdup (json_string_value (id));
        self->phrase_text[n] = strndup (entries[n].text, entries[n].len);
        if (!self->phrase_id[n] || !self->phrase_text[n])
            return s_why (why, why_size, "out of memory");
        self->phrase_count++;
    }
    size_t dup;
    if (s_automaton_build (&self->phrases, entries, count, &dup)) {
        if (dup == count)
            return s_why (why, why_size, "out of memory");
        size_t first = s_first_equal (entries, dup);
        return s_why (why, why_size, "forbidden phrase '%.*s' is listed twice (ids %s and %s)",
                      (int) entries[dup].len, entries[dup].text, self->phrase_id[first],
                      self->phrase_id[dup]);
    }
    return 0;
}

static int
s_load (intake_classify_t *self, json_t *root, char *why, size_t why_size)
{
    static const char *const keys[] = {"default_priority", "intents", "forbidden_phrases", NULL};
    if (!json_is_object (root))
        return s_why (why, why_size, "the top level must be a JSON object");
    if (s_check_keys (root, keys, "", why, why_size))
        return -1;
    self->default_priority = KEFU__V1__PRIORITY__PRIORITY_NORMAL;
    json_t *value = json_object_get (root, "default_priority");
    if (value && s_priority (value, "default_priority: ", &self->default_priority, why, why_size))
        return -1;
    json_t *intents = json_object_get (root, "intents");
    if (!intents)
        return s_why (why, why_size, "'intents' is missing");
    json_t *phrases = json_object_get (root, "forbidden_phrases"); //  optional

    //  One scratch array for both lists; it borrows the strings of the tree.
    entry_t *entries =
        calloc (KEYWORDS_MAX > PHRASES_MAX ? KEYWORDS_MAX : PHRASES_MAX, sizeof *entries);
    int rc = -1;
    if (!entries)
        s_why (why, why_size, "out of memory");
    else if (s_load_intents (self, intents, entries, why, why_size) == 0)
        rc = phrases ? s_load_phrases (self, phrases, entries, why, why_size) : 0;
    free (entries);
    return rc;
}

intake_classify_t *
intake_classify_load (const char *path, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = 0;
    if (!path || !*path) {
        s_why (why, why_size, "no dictionary path");
        return NULL;
    }
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        //  Jansson's text would quote the offending bytes: say it ourselves.
        enum json_error_code code = json_error_code (&error);
        if (code == json_error_cannot_open_file || code == json_error_out_of_memory)
            s_why (why, why_size, "%s", error.text); //  with the errno text
        else if (code == json_error_invalid_utf8)
            s_why (why, why_size, "not valid UTF-8 at line %d, column %d", error.line,
                   error.column);
        else
            s_why (why, why_size, "invalid JSON at line %d, column %d: %s", error.line,
                   error.column, error.text);
        return NULL;
    }
    intake_classify_t *self = calloc (1, sizeof *self);
    if (!self)
        s_why (why, why_size, "out of memory");
    else if (s_load (self, root, why, why_size))
        intake_classify_destroy (&self);
    json_decref (root);
    return self;
}

void
intake_classify_destroy (intake_classify_t **self_p)
{
    assert (self_p);
    intake_classify_t *self = *self_p;
    if (!self)
        return;
    s_automaton_free (&self->keywords);
    s_automaton_free (&self->phrases);
    for (int i = 0; self->phrase_id && self->phrase_id[i]; i++)
        free (self->phrase_id[i]);
    free (self->phrase_id);
    for (int i = 0; self->phrase_text && self->phrase_text[i]; i++)
        free (self->phrase_text[i]);
    free (self->phrase_text);
    free (self);
    *self_p = NULL;
}

//  Copy src into buf; buf, or NULL (and buf empty) when it does not fit.
static const char *
s_copy (char *buf, size_t size, const char *src)
{
    size_t len = strlen (src);
    if (len >= size) {
        if (size)
            buf[0] = 0;
        return NULL;
    }
    memcpy (buf, src, len + 1);
    return buf;
}

const char *
intake_classify_default_path (char *buf, size_t size)
{
    assert (buf || size == 0);
    const char *env = getenv ("KEFU_INTAKE_DICTIONARY");
    if (env && *env)
        return s_copy (buf, size, env);

    //  /usr/local/bin/kefu-intake -> /usr/local/share/kefu/dictionaries/intents.json.
    //  /proc/self/exe is already free of symlinks, so cutting components is ".."
    char exe[PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr (exe, '/'); //  end of the bin directory
        if (slash) {
            *slash = 0;
            slash = strrchr (exe, '/'); //  end of the prefix
        }
        if (slash) {
            *slash = 0;
            char installed[PATH_MAX + 64];
            snprintf (installed, sizeof installed, "%s/share/kefu/dictionaries/intents.json", exe);
            if (access (installed, F_OK) == 0)
                return s_copy (buf, size, installed);
        }
    }
    return s_copy (buf, size, KEFU_SOURCE_DICTIONARY);
}

//  ---------------------------------------------------------------------------
//  Classifying: the hot path, one DFA step per byte.

void
intake_classify_message (const intake_classify_t *self, const char *body, size_t len,
                         Kefu__V1__Intent *intent, Kefu__V1__Priority *priority)
{
    assert (self);
    assert (body || len == 0);
    assert (intent && priority);
    const automaton_t *ac = &self->keywords;
    const uint8_t *text = (const uint8_t *) body;
    int best = self->intent_count; //  rank of the best intent so far; none yet
    size_t s = 0;
    //  The first intent in precedence wins, so rank 0 ends the search.
    for (size_t i = 0; i < len && best > 0; i++) {
        s = ac->next[s * ac->classes + ac->cls[text[i]]];
        //  Every keyword that ends here: this state's, then its suffixes'.
        for (size_t t = s; t; t = ac->link[t])
            if (ac->value[t] >= 0 && ac->value[t] < best)
                best = ac->value[t];
    }
    if (best < self->intent_count) {
        *intent = self->intent[best];
        *priority = self->priority[best];
    } else {
        *intent = KEFU__V1__INTENT__INTENT_OTHER;
        *priority = self->default_priority;
    }
}

int
intake_classify_qa (const intake_classify_t *self, const char *body, size_t len, const char **flags,
                    int max)
{
    assert (self);
    assert (body || len == 0);
    assert (flags || max <= 0);
    if (max <= 0 || self->phrase_count == 0)
        return 0;
    const automaton_t *ac = &self->phrases;
    const uint8_t *text = (const uint8_t *) body;
    bool found[PHRASES_MAX] = {false};
    size_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = ac->next[s * ac->classes + ac->cls[text[i]]];
        for (size_t t = s; t; t = ac->link[t])
            if (ac->value[t] >= 0)
                found[ac->value[t]] = true;
    }
    //  In the file's order, so the same reply always gives the same list.
    int n = 0;
    for (int p = 0; p < self->phrase_count && n < max; p++)
        if (found[p])
            flags[n++] = self->phrase_id[p];
    return n;
}

const char *
intake_classify_phrase_text (const intake_classify_t *self, const char *id)
{
    assert (self);
    for (int p = 0; id && p < self->phrase_count; p++)
        if (strcmp (self->phrase_id[p], id) == 0)
            return self->phrase_text[p];
    return NULL;
}

int
intake_classify_keyword_count (const intake_classify_t *self)
{
    assert (self);
    return self->keyword_count;
}

int
intake_classify_phrase_count (const intake_classify_t *self)
{
    assert (self);
    return self->phrase_count;
}
