/*  kf_config — declarative KEFU_* configuration tables. */
#include "kf_config.h"

#include "kf_log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const kf_config_entry_t kf_common_config_entries[] = {
    {"KEFU_LOG_LEVEL", KF_CFG_CHOICE, offsetof (kf_common_config_t, log_level), "info",
     "lowest level logged", 0, 0, "debug|info|warn|error", KF_CFG_RELOADABLE},
    {"KEFU_LOG_FORMAT", KF_CFG_CHOICE, offsetof (kf_common_config_t, log_format), "text",
     "log line format: logfmt text or one JSON object per line", 0, 0, "text|json", 0},
    {"KEFU_DATABASE_URL", KF_CFG_STRING, offsetof (kf_common_config_t, database_url),
     "postgresql:///kefu", "PostgreSQL connection string (libpq URL or key=value)", 0, 0, NULL,
     KF_CFG_SECRET},
    {"KEFU_EVENTS_KEEP", KF_CFG_DURATION, offsetof (kf_common_config_t, events_keep), "7d",
     "event log retention: every daemon drops whole days of events older than this that every "
     "consumer has applied (0: only kefuctl events prune does)",
     0, 0, NULL, 0},
    {"KEFU_CLOCK", KF_CFG_STRING, offsetof (kf_common_config_t, clock), "real",
     "time source: real, or manual[:<ms or UTC time>] (tests only: moved by ClockAdvance)", 0, 0,
     NULL, 0},
    KF_CONFIG_END};

static char **
s_string_slot (const kf_config_entry_t *entry, void *cfg)
{
    return (char **) ((char *) cfg + entry->offset);
}

static int64_t *
s_int_slot (const kf_config_entry_t *entry, void *cfg)
{
    return (int64_t *) ((char *) cfg + entry->offset);
}

static bool *
s_bool_slot (const kf_config_entry_t *entry, void *cfg)
{
    return (bool *) ((char *) cfg + entry->offset);
}

//  Parse "<number><unit>" where units maps suffix -> multiplier. Returns 0/-1.
typedef struct {
    const char *suffix;
    int64_t factor;
} s_unit_t;

static int
s_parse_scaled (const char *value, const s_unit_t *units, int64_t *out)
{
    if (!*value)
        return -1;
    errno = 0;
    char *end;
    long long n = strtoll (value, &end, 10);
    if (end == value || errno == ERANGE || n < 0)
        return -1;
    for (const s_unit_t *u = units; u->suffix; u++)
        if (strcmp (end, u->suffix) == 0) {
            if (u->factor > 0 && n > INT64_MAX / u->factor)
                return -1;
            *out = (int64_t) n * u->factor;
            return 0;
        }
    return -1;
}

static const s_unit_t s_duration_units[] = {{"", 1},
                                            {"ms", 1},
                                            {"s", 1000},
                                            {"m", 60 * 1000},
                                            {"min", 60 * 1000},
                                            {"h", 3600 * 1000},
                                            {"d", 86400 * 1000},
                                            {NULL, 0}};
static const s_unit_t s_byte_units[] = {
    {"", 1},       {"B", 1},           {"k", 1024},          {"K", 1024},
    {"KiB", 1024}, {"M", 1024 * 1024}, {"MiB", 1024 * 1024}, {NULL, 0}};

static bool
s_choice_ok (const char *choices, const char *value)
{
    size_t len = strlen (value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr (p, '|');
        size_t n = bar ? (size_t) (bar - p) : strlen (p);
        if (n == len && strncmp (p, value, n) == 0 && len > 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

int
kf_config_set (const kf_config_entry_t *entry, void *cfg, const char *value, char *why,
               size_t why_size)
{
    int64_t n = 0;
    switch (entry->type) {
    case KF_CFG_STRING:
    case KF_CFG_CHOICE: {
        if (entry->type == KF_CFG_CHOICE && !s_choice_ok (entry->choices, value)) {
            snprintf (why, why_size, "must be one of %s", entry->choices);
            return -1;
        }
        char **slot = s_string_slot (entry, cfg);
        free (*slot);
        *slot = strdup (value);
        return 0;
    }
    case KF_CFG_BOOL: {
        static const char *yes[] = {"1", "true", "yes", "on"};
        static const char *no[] = {"0", "false", "no", "off"};
        for (int i = 0; i < 4; i++) {
            if (strcmp (value, yes[i]) == 0) {
                *s_bool_slot (entry, cfg) = true;
                return 0;
            }
            if (strcmp (value, no[i]) == 0) {
                *s_bool_slot (entry, cfg) = false;
                return 0;
            }
        }
        snprintf (why, why_size, "not a boolean (use 1/0, true/false, yes/no, on/off)");
        return -1;
    }
    case KF_CFG_INT: {
        errno = 0;
        char *end;
        long long v = strtoll (value, &end, 10);
        if (!*value || *end || errno == ERANGE) {
            snprintf (why, why_size, "not an integer");
            return -1;
        }
        n = v;
        break;
    }
    case KF_CFG_DURATION:
        if (s_parse_scaled (value, s_duration_units, &n)) {
            snprintf (why, why_size, "not a duration (use e.g. 500ms, 30s, 30m, 24h, 30d)");
            return -1;
        }
        break;
    case KF_CFG_BYTES:
        if (s_parse_scaled (value, s_byte_units, &n)) {
            snprintf (why, why_size, "not a size (use e.g. 8192, 8KiB, 64k, 1MiB)");
            return -1;
        }
        break;
    }
    int64_t min = entry->min, max = entry->max;
    if (min == 0 && max == 0)
        max = INT64_MAX;
    if (n < min || n > max) {
        snprintf (why, why_size, "out of range (allowed %" PRId64 "..%" PRId64 ")", min, max);
        return -1;
    }
    *s_int_slot (entry, cfg) = n;
    return 0;
}

static int
s_report_bad (const kf_config_spec_t *spec, const char *name, const char *value, const char *why)
{
    fprintf (stderr, "%s: bad value for %s=\"%s\": %s\n", spec->program, name, value, why);
    return -1;
}

//  Find the entry called `name` in either table; *common_p says which.
static const kf_config_entry_t *
s_find (const kf_config_spec_t *spec, const char *name, size_t name_len, bool *common_p)
{
    const kf_config_entry_t *tables[2] = {spec->entries, spec->common};
    for (int t = 0; t < 2; t++)
        for (const kf_config_entry_t *e = tables[t]; e && e->name; e++)
            if (strlen (e->name) == name_len && strncmp (e->name, name, name_len) == 0) {
                *common_p = t == 1;
                return e;
            }
    return NULL;
}

static int
s_apply (const kf_config_spec_t *spec, void *cfg, void *common, const char *name, size_t name_len,
         const char *value)
{
    bool is_common = false;
    const kf_config_entry_t *e = s_find (spec, name, name_len, &is_common);
    if (!e) {
        fprintf (stderr, "%s: unknown setting %.*s (see --help)\n", spec->program, (int) name_len,
                 name);
        return -1;
    }
    char why[160];
    if (kf_config_set (e, is_common ? common : cfg, value, why, sizeof why))
        return s_report_bad (spec, e->name, value, why);
    return 0;
}

//  Load the JSON file named by KEFU_CONFIG, if any: { "KEFU_X": value, ... }.
static int
s_load_file (const kf_config_spec_t *spec, void *cfg, void *common)
{
    const char *path = getenv ("KEFU_CONFIG");
    if (!path || !*path)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file (path, 0, &jerr);
    if (!root || !json_is_object (root)) {
        fprintf (stderr, "%s: bad value for KEFU_CONFIG=\"%s\": %s\n", spec->program, path,
                 root ? "not a JSON object" : jerr.text);
        json_decref (root);
        return -1;
    }
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach (root, key, val)
    {
        char buf[64];
        const char *text = NULL;
        if (json_is_string (val))
            text = json_string_value (val);
        else if (json_is_integer (val)) {
            snprintf (buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value (val));
            text = buf;
        } else if (json_is_boolean (val))
            text = json_is_true (val) ? "true" : "false";
        bool is_common;
        if (!s_find (spec, key, strlen (key), &is_common)) {
            //  A shared file may hold settings of other programs: skip them.
            continue;
        }
        if (!text) {
            char *dump = json_dumps (val, JSON_ENCODE_ANY | JSON_COMPACT);
            fprintf (stderr,
                     "%s: bad value for %s=%s in %s: must be a string, integer or boolean\n",
                     spec->program, key, dump ? dump : "?", path);
            free (dump);
            rc = -1;
            continue;
        }
        if (s_apply (spec, cfg, common, key, strlen (key), text))
            rc = -1;
    }
    json_decref (root);
    return rc;
}

static int
s_load_all (const kf_config_spec_t *spec, void *cfg, void *common)
{
    const kf_config_entry_t *tables[2] = {spec->entries, spec->common};
    void *targets[2] = {cfg, common};
    int rc = 0;
    //  1. defaults (a bad default is a bug, reported like a bad value)
    for (int t = 0; t < 2; t++)
        for (const kf_config_entry_t *e = tables[t]; e && e->name; e++) {
            char why[160];
            if (kf_config_set (e, targets[t], e->default_value, why, sizeof why))
                rc = s_report_bad (spec, e->name, e->default_value, why);
        }
    //  2. file
    if (s_load_file (spec, cfg, common))
        rc = -1;
    //  3. environment
    for (int t = 0; t < 2; t++)
        for (const kf_config_entry_t *e = tables[t]; e && e->name; e++) {
            const char *value = getenv (e->name);
            if (value) {
                char why[160];
                if (kf_config_set (e, targets[t], value, why, sizeof why))
                    rc = s_report_bad (spec, e->name, value, why);
            }
        }
    return rc;
}

//  The --<word> of a KF_CFG_OPTION entry into buf ("" if it has none).
static const char *
s_option_word (const kf_config_entry_t *e, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *word = strchr (e->name + 5, '_'); //  after KEFU_<PROGRAM>
    if (!(e->flags & KF_CFG_OPTION) || e->type != KF_CFG_BOOL || !word)
        return buf;
    size_t n = 0;
    for (const char *c = word + 1; *c && n + 1 < size; c++)
        buf[n++] = *c == '_' ? '-' : (char) tolower ((unsigned char) *c);
    buf[n] = '\0';
    return buf;
}

//  The entry whose option is arg ("--rebuild"), or NULL.
static const kf_config_entry_t *
s_option (const kf_config_spec_t *spec, const char *arg)
{
    if (strncmp (arg, "--", 2) != 0)
        return NULL;
    for (const kf_config_entry_t *e = spec->entries; e && e->name; e++) {
        char word[64];
        if (*s_option_word (e, word, sizeof word) && strcmp (arg + 2, word) == 0)
            return e;
    }
    return NULL;
}

kf_config_result_t
kf_config_load (const kf_config_spec_t *spec, void *cfg, kf_common_config_t *common, int *argc,
                char **argv)
{
    if (s_load_all (spec, cfg, common))
        return KF_CONFIG_BAD;
    //  4. arguments: NAME=VALUE or --set NAME=VALUE; others are kept.
    int kept = 1;
    bool print_config = false;
    int n = argc ? *argc : 0;
    for (int i = 1; i < n; i++) {
        const char *arg = argv[i];
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            kf_config_print_help (spec, stdout);
            return KF_CONFIG_EXIT_OK;
        }
        if (strcmp (arg, "--version") == 0) {
            printf ("%s %s\n", spec->program, KEFU_VERSION);
            return KF_CONFIG_EXIT_OK;
        }
        if (strcmp (arg, "--print-config") == 0) {
            print_config = true;
            continue;
        }
        if (strcmp (arg, "--set") == 0) {
            if (i + 1 >= n) {
                fprintf (stderr, "%s: --set needs NAME=VALUE\n", spec->program);
                return KF_CONFIG_BAD;
            }
            arg = argv[++i];
        }
        const kf_config_entry_t *option = s_option (spec, arg);
        if (option) {
            *s_bool_slot (option, cfg) = true;
            continue;
        }
        const char *eq = strchr (arg, '=');
        if (strncmp (arg, "KEFU_", 5) == 0 && eq) {
            if (s_apply (spec, cfg, common, arg, (size_t) (eq - arg), eq + 1))
                return KF_CONFIG_BAD;
            continue;
        }
        argv[kept++] = argv[i];
    }
    if (argc)
        *argc = kept;
    if (print_config) {
        kf_config_print (spec, cfg, common, stdout);
        return KF_CONFIG_EXIT_OK;
    }
    if (common)
        kf_config_apply_logging (common);
    return KF_CONFIG_OK;
}

static const char *
s_type_name (const kf_config_entry_t *e)
{
    switch (e->type) {
    case KF_CFG_STRING:
        return "text";
    case KF_CFG_INT:
        return "integer";
    case KF_CFG_BOOL:
        return "boolean";
    case KF_CFG_DURATION:
        return "duration";
    case KF_CFG_BYTES:
        return "size";
    case KF_CFG_CHOICE:
        return e->choices;
    }
    return "?";
}

void
kf_config_print_help (const kf_config_spec_t *spec, FILE *out)
{
    fprintf (out, "Usage: %s [--help] [--version] [--print-config] [NAME=VALUE ...]%s\n\n%s\n",
             spec->program, spec->usage ? " ..." : "", spec->summary);
    if (spec->usage)
        fprintf (out, "\n%s\n", spec->usage);
    fprintf (out, "\nConfiguration (environment, NAME=VALUE arguments, or a JSON file named by "
                  "KEFU_CONFIG):\n");
    const kf_config_entry_t *tables[2] = {spec->entries, spec->common};
    for (int t = 0; t < 2; t++)
        for (const kf_config_entry_t *e = tables[t]; e && e->name; e++) {
            fprintf (out, "  %-36s %s\n", e->name, e->help);
            char word[64];
            fprintf (out, "  %-36s   [%s; default %s%s%s%s]\n", "", s_type_name (e),
                     *e->default_value ? e->default_value : "(empty)",
                     (e->flags & KF_CFG_RELOADABLE) ? "; reloaded on SIGHUP" : "",
                     *s_option_word (e, word, sizeof word) ? "; also --" : "", word);
        }
    if (!spec->usage || !strstr (spec->usage, "Exit"))
        fprintf (out,
                 "\nExit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.\n");
}

static void
s_print_value (const kf_config_entry_t *e, const void *cfg, FILE *out)
{
    void *c = (void *) cfg;
    switch (e->type) {
    case KF_CFG_STRING:
    case KF_CFG_CHOICE: {
        const char *v = *s_string_slot (e, c);
        if ((e->flags & KF_CFG_SECRET) && v && strstr (v, "password"))
            fprintf (out, "%s=<contains a password; not shown>\n", e->name);
        else if ((e->flags & KF_CFG_SECRET) && v && strchr (v, '@') &&
                 strchr (v, ':') != strrchr (v, ':'))
            fprintf (out, "%s=<contains credentials; not shown>\n", e->name);
        else
            fprintf (out, "%s=%s\n", e->name, v ? v : "");
        break;
    }
    case KF_CFG_BOOL:
        fprintf (out, "%s=%s\n", e->name, *s_bool_slot (e, c) ? "true" : "false");
        break;
    case KF_CFG_INT:
        fprintf (out, "%s=%" PRId64 "\n", e->name, *s_int_slot (e, c));
        break;
    case KF_CFG_DURATION:
        fprintf (out, "%s=%" PRId64 "ms\n", e->name, *s_int_slot (e, c));
        break;
    case KF_CFG_BYTES:
        fprintf (out, "%s=%" PRId64 "\n", e->name, *s_int_slot (e, c));
        break;
    }
}

void
kf_config_print (const kf_config_spec_t *spec, const void *cfg, const kf_common_config_t *common,
                 FILE *out)
{
    for (const kf_config_entry_t *e = spec->entries; e && e->name; e++)
        s_print_value (e, cfg, out);
    for (const kf_config_entry_t *e = spec->common; common && e && e->name; e++)
        s_print_value (e, common, out);
}

int
kf_config_reload (const kf_config_spec_t *spec, void *cfg)
{
    //  Load into a scratch copy: only the RELOADABLE entries move over.
    size_t size = 0;
    for (const kf_config_entry_t *e = spec->entries; e && e->name; e++) {
        size_t end =
            e->offset + ((e->type == KF_CFG_STRING || e->type == KF_CFG_CHOICE) ? sizeof (char *)
                         : e->type == KF_CFG_BOOL                               ? sizeof (bool)
                                                                                : sizeof (int64_t));
        if (end > size)
            size = end;
    }
    void *scratch = calloc (1, size ? size : 1);
    kf_common_config_t scratch_common = {0};
    int rc = s_load_all (spec, scratch, &scratch_common);
    if (rc == 0) {
        for (const kf_config_entry_t *e = spec->entries; e && e->name; e++) {
            if (!(e->flags & KF_CFG_RELOADABLE))
                continue;
            if (e->type == KF_CFG_STRING || e->type == KF_CFG_CHOICE) {
                char **dst = s_string_slot (e, cfg);
                char **src = s_string_slot (e, scratch);
                free (*dst);
                *dst = *src;
                *src = NULL;
            } else if (e->type == KF_CFG_BOOL)
                *s_bool_slot (e, cfg) = *s_bool_slot (e, scratch);
            else
                *s_int_slot (e, cfg) = *s_int_slot (e, scratch);
        }
        if (scratch_common.log_level)
            kf_log_set_level_name (scratch_common.log_level);
    } else
        kf_log_warn ("config.reload_failed", "reason=\"bad value; keeping the old configuration\"");
    kf_config_free (spec->entries, scratch);
    if (spec->common)
        kf_config_free (spec->common, &scratch_common);
    free (scratch);
    return rc;
}

void
kf_config_free (const kf_config_entry_t *entries, void *cfg)
{
    for (const kf_config_entry_t *e = entries; e && e->name; e++)
        if (e->type == KF_CFG_STRING || e->type == KF_CFG_CHOICE) {
            char **slot = s_string_slot (e, cfg);
            free (*slot);
            *slot = NULL;
        }
}

void
kf_config_apply_logging (const kf_common_config_t *common)
{
    if (common->log_level)
        kf_log_set_level_name (common->log_level);
    if (common->log_format)
        kf_log_set_format_name (common->log_format);
}
