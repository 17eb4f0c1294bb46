/*  kefuctl phrases — a shop's quick-reply library (快捷短语): phrases per
    intent (and a greeting) that routing hands the agent with each
    assignment. Every phrase is checked before it is stored: its text
    (routing_phrase_check) and the forbidden-phrase dictionary intake uses
    (intake_classify, the same file and matcher). */
#include "kefuctl.h"

#include "intake_classify.h"
#include "routing_phrases.h"
#include "routing_store.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE_MAX  (4 * 1024 * 1024) //  bytes of an import file
#define S_FLAGS_MAX 8                 //  forbidden phrases named per phrase

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl phrases add <shop> --intent KEY --text TEXT [--by WHO]\n"
            "  kefuctl phrases list <shop> [--intent KEY] [--flagged] [--json]\n"
            "  kefuctl phrases remove <shop> <phrase_id> [--by WHO]\n"
            "  kefuctl phrases import <shop> <file> [--format jsonl|csv] [--by WHO]\n"
            "  kefuctl phrases export <shop> [--format jsonl|csv]\n"
            "  kefuctl phrases usage <shop> [--from DATE] [--to DATE] [--by agent|phrase]\n"
            "                        [--agent ID] [--json | --csv]\n\n"
            "The shop's quick replies (快捷短语). kefu-routing hands the agent up to\n"
            "KEFU_ROUTING_SUGGESTIONS of them (default 3) with every assignment (the first\n"
            "greeting, then the phrases of the conversation's intent, in the order added), and\n"
            "the new intent's when a customer's later message changes it.\n"
            "  KEY     greeting, other, presales, bargaining, urge_shipping, delivery_time,\n"
            "          logistics, return_refund, complaint, negative_review\n"
            "  TEXT    1-%d bytes of UTF-8, line breaks allowed; placeholders {agent_name},\n"
            "          {shop_name}, {customer_name}, {order_id} (at most %d) are filled in for\n"
            "          each conversation (a phrase whose placeholder has no value there, e.g.\n"
            "          no order mentioned, is not suggested). At most %d phrases per KEY.\n"
            "A phrase containing a forbidden phrase (服务禁忌) of the dictionary intake uses\n"
            "($KEFU_INTAKE_DICTIONARY, else the installed intents.json) is refused with its name.\n"
            "--flagged lists the stored phrases the dictionary flags now (after it changed).\n"
            "Files: JSON lines {\"intent\": KEY, \"text\": TEXT} (other keys ignored), or CSV\n"
            "with the head intent,text (RFC 4180 quoting); --format defaults to csv for a\n"
            "name ending in .csv, else jsonl; \"-\" is standard input. An import stores the good\n"
            "rows, reports each bad one by line and then exits 2; a text already under its KEY\n"
            "is skipped. export writes the same formats to standard output.\n"
            "usage asks kefu-metrics how often each agent replied with each phrase as suggested\n"
            "(dates as for kefuctl kpi; default today; connection settings as for kefuctl kpi).\n"
            "Exit codes: 0 success, 1 failure, 2 usage or a refused phrase or row,\n"
            "            4 the shop or phrase does not exist.\n",
            ROUTING_PHRASE_MAX, ROUTING_PHRASE_HOLES_MAX, ROUTING_PHRASES_PER_KEY);
}

//  The dictionary intake classifies with, or NULL after printing why.
static intake_classify_t *
s_dictionary (const char *cmd)
{
    char path[PATH_MAX], why[256];
    if (!intake_classify_default_path (path, sizeof path)) {
        fprintf (stderr, "%s: no forbidden-phrase dictionary (set KEFU_INTAKE_DICTIONARY)\n", cmd);
        return NULL;
    }
    intake_classify_t *dict = intake_classify_load (path, why, sizeof why);
    if (!dict)
        fprintf (stderr, "%s: dictionary %s: %s\n", cmd, path, why);
    return dict;
}

//  The forbidden phrases in text, "bu_ke_yi (不可以), ..." into buf; 0 if none.
static int
s_forbidden (const intake_classify_t *dict, const char *text, char *buf, size_t size)
{
    const char *flags[S_FLAGS_MAX];
    int n = intake_classify_qa (dict, text, strlen (text), flags, S_FLAGS_MAX);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf (buf + used, size - used, "%s%s (%s)", i ? ", " : "", flags[i],
                          intake_classify_phrase_text (dict, flags[i]));
        if (w < 0)
            break;
        used += (size_t) w;
    }
    return n;
}

//  Everything that makes a phrase refusable, as one reason; 0 if none.
static int
s_refusal (const intake_classify_t *dict, const char *key, const char *text, size_t len, char *why,
           size_t size)
{
    if (routing_phrase_key (key) < 0) {
        snprintf (why, size,
                  "unknown intent \"%.40s\" (greeting, other, presales, bargaining, "
                  "urge_shipping, delivery_time, logistics, return_refund, complaint, "
                  "negative_review)",
                  key);
        return -1;
    }
    char reason[256];
    if (strlen (text) != len) {
        snprintf (why, size, "text contains a NUL byte");
        return -1;
    }
    if (routing_phrase_check (text, len, reason, sizeof reason)) {
        snprintf (why, size, "text %s", reason);
        return -1;
    }
    char found[512];
    int n = s_forbidden (dict, text, found, sizeof found);
    if (n) {
        snprintf (why, size, "text contains the forbidden phrase%s %s", n > 1 ? "s" : "", found);
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  add, remove

typedef struct {
    const char *key;  //  intent or greeting
    const char *text; //  the phrase
} s_add_t;

static int
s_add_change (kefuctl_change_t *c, void *arg)
{
    s_add_t *a = arg;
    int64_t id;
    int done =
        routing_store_add_phrase (c->store, c->shop_id, a->key, a->text, c->by, &id, &c->err);
    if (done < 0)
        return kefuctl_change_failed (c);
    if (done == 2) {
        fprintf (stderr, "%s: shop %s has %d %s phrases already (the limit)\n", c->cmd, c->shop_id,
                 ROUTING_PHRASES_PER_KEY, a->key);
        return KEFUCTL_USAGE;
    }
    if (done == 0) {
        fprintf (stderr, "%s: shop %s has this %s phrase already (id %" PRId64 ")\n", c->cmd,
                 c->shop_id, a->key, id);
        return KEFUCTL_EXISTS;
    }
    fprintf (c->out, "phrase %" PRId64 " added to shop %s (%s)\n", id, c->shop_id, a->key);
    return kefuctl_change_config (c, "phrases");
}

static int
s_add (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases add";
    const char *shop_id = NULL, *by = NULL, *v;
    s_add_t a = {NULL, NULL};
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--intent")))
            a.key = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--text")))
            a.text = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !a.key || !a.text) {
        fprintf (stderr, "%s: needs <shop> --intent KEY --text TEXT\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) || !(by = kefuctl_by (cmd, by)))
        return KEFUCTL_USAGE;
    intake_classify_t *dict = s_dictionary (cmd);
    if (!dict)
        return KEFUCTL_USAGE;
    char why[768];
    int refused = s_refusal (dict, a.key, a.text, strlen (a.text), why, sizeof why);
    intake_classify_destroy (&dict);
    if (refused) {
        fprintf (stderr, "%s: refused, nothing stored: %s\n", cmd, why);
        return KEFUCTL_USAGE;
    }
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_add_change, &a);
}

static int
s_remove_change (kefuctl_change_t *c, void *arg)
{
    int64_t id = *(int64_t *) arg;
    int done = routing_store_remove_phrase (c->store, c->shop_id, id, &c->err);
    if (done < 0)
        return kefuctl_change_failed (c);
    if (!done) {
        fprintf (stderr, "%s: shop %s has no phrase %" PRId64 " (kefuctl phrases list %s)\n",
                 c->cmd, c->shop_id, id, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    fprintf (c->out, "phrase %" PRId64 " removed from shop %s\n", id, c->shop_id);
    return kefuctl_change_config (c, "phrases");
}

static int
s_remove (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases remove";
    const char *shop_id = NULL, *id_text = NULL, *by = NULL, *v;
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !id_text)
            id_text = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    int64_t id;
    if (!shop_id || !id_text) {
        fprintf (stderr, "%s: needs <shop> <phrase_id>\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) ||
        kefuctl_parse_int (cmd, "<phrase_id>", id_text, 1, INT64_MAX, &id) ||
        !(by = kefuctl_by (cmd, by)))
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_remove_change, &id);
}

//  ---------------------------------------------------------------------
//  list, export

typedef struct {
    json_t *rows;                  //  the phrases as JSON objects
    const intake_classify_t *dict; //  for flags, NULL = not asked
    const char *key;               //  only this intent, NULL = all
    bool flagged_only;             //  only flagged ones
} s_list_t;

static void
s_on_phrase (void *arg, const routing_phrase_row_t *row)
{
    s_list_t *list = arg;
    if (list->key && strcmp (list->key, row->intent) != 0)
        return;
    char found[512] = "";
    int n = list->dict ? s_forbidden (list->dict, row->text, found, sizeof found) : 0;
    if (list->flagged_only && !n)
        return;
    json_t *obj = json_pack ("{s:I, s:s, s:s, s:s, s:I}", "phrase_id", (json_int_t) row->id,
                             "intent", row->intent, "text", row->text, "by", row->by,
                             "created_at_ms", (json_int_t) row->created_at_ms);
    if (n)
        json_object_set_new (obj, "flagged", json_string (found));
    json_array_append_new (list->rows, obj);
}

//  The shop's phrases into list->rows. Exit code.
static int
s_read (kefuctl_t *ctl, const char *cmd, const char *shop_id, s_list_t *list)
{
    kf_store_t *store = NULL;
    int rc = kefuctl_shop_open (ctl, cmd, shop_id, &store);
    if (rc)
        return rc;
    kf_error_t err;
    if (routing_store_list_phrases (store, shop_id, s_on_phrase, list, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}

//  A CSV field, quoted when it must be (RFC 4180).
static void
s_csv_field (FILE *out, const char *text)
{
    if (!strpbrk (text, ",\"\r\n")) {
        fputs (text, out);
        return;
    }
    fputc ('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases list";
    const char *shop_id = NULL, *v;
    bool json = false;
    s_list_t list = {json_array (), NULL, NULL, false};
    int rc = KEFUCTL_OK;
    for (int i = 2; i < argc && !rc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (strcmp (argv[i], "--flagged") == 0)
            list.flagged_only = true;
        else if ((v = kefuctl_opt (argc, argv, &i, "--intent")))
            list.key = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!rc && !shop_id) {
        fprintf (stderr, "%s: needs <shop>\n", cmd);
        rc = KEFUCTL_USAGE;
    }
    if (!rc && list.key && routing_phrase_key (list.key) < 0) {
        fprintf (stderr, "%s: unknown intent \"%s\" (see --help)\n", cmd, list.key);
        rc = KEFUCTL_USAGE;
    }
    intake_classify_t *dict = NULL;
    if (!rc && kefuctl_check_shop (cmd, shop_id))
        rc = KEFUCTL_USAGE;
    if (!rc && !(dict = s_dictionary (cmd)))
        rc = KEFUCTL_USAGE;
    list.dict = dict;
    if (!rc)
        rc = s_read (ctl, cmd, shop_id, &list);
    if (!rc && json) {
        char *text = json_dumps (list.rows, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else if (!rc && json_array_size (list.rows) == 0)
        printf (list.flagged_only ? "no flagged phrases\n"
                                  : "no phrases (kefuctl phrases add or import)\n");
    else if (!rc) {
        kefuctl_table_t *t =
            kefuctl_table_new (4, (const char *[]){"ID", "INTENT", "TEXT", "FLAGGED"});
        size_t i;
        json_t *row;
        json_array_foreach (list.rows, i, row)
        {
            char id[32];
            snprintf (id, sizeof id, "%" JSON_INTEGER_FORMAT,
                      json_integer_value (json_object_get (row, "phrase_id")));
            const char *flagged = json_string_value (json_object_get (row, "flagged"));
            kefuctl_table_add (
                t, (const char *[]){id, json_string_value (json_object_get (row, "intent")),
                                    json_string_value (json_object_get (row, "text")),
                                    flagged ? flagged : "-"});
        }
        kefuctl_table_print (t, stdout);
        kefuctl_table_destroy (&t);
    }
    intake_classify_destroy (&dict);
    json_decref (list.rows);
    return rc;
}

//  "jsonl" or "csv" from --format or the file name; NULL after printing why.
static const char *
s_format (const char *cmd, const char *given, const char *file)
{
    if (given) {
        if (strcmp (given, "jsonl") == 0 || strcmp (given, "csv") == 0)
            return given;
        fprintf (stderr, "%s: --format is jsonl or csv, not \"%s\"\n", cmd, given);
        return NULL;
    }
    size_t n = file ? strlen (file) : 0;
    return n > 4 && strcmp (file + n - 4, ".csv") == 0 ? "csv" : "jsonl";
}

static int
s_export (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases export";
    const char *shop_id = NULL, *given = NULL, *v;
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--format")))
            given = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    const char *format = s_format (cmd, given ? given : "jsonl", NULL);
    if (!format)
        return KEFUCTL_USAGE;
    if (!shop_id || kefuctl_check_shop (cmd, shop_id)) {
        if (!shop_id)
            fprintf (stderr, "%s: needs <shop>\n", cmd);
        return KEFUCTL_USAGE;
    }
    s_list_t list = {json_array (), NULL, NULL, false};
    int rc = s_read (ctl, cmd, shop_id, &list);
    bool csv = strcmp (format, "csv") == 0;
    if (!rc && csv)
        printf ("intent,text\n");
    size_t i;
    json_t *row;
    json_array_foreach (list.rows, i, row)
    {
        if (rc)
            break;
        const char *key = json_string_value (json_object_get (row, "intent"));
        const char *text = json_string_value (json_object_get (row, "text"));
        if (csv) {
            s_csv_field (stdout, key);
            fputc (',', stdout);
            s_csv_field (stdout, text);
            fputc ('\n', stdout);
        } else {
            json_t *obj = json_pack ("{s:s, s:s}", "intent", key, "text", text);
            char *line = json_dumps (obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf ("%s\n", line);
            free (line);
            json_decref (obj);
        }
    }
    json_decref (list.rows);
    return rc;
}

//  ---------------------------------------------------------------------
//  import

typedef struct {
    int line;   //  where the row starts (1-based)
    char *key;  //  intent, owned
    char *text; //  phrase, owned
    size_t len; //  text bytes (a NUL inside is refused)
} s_row_t;

typedef struct {
    const char *cmd; //  for messages
    zlistx_t *rows;  //  s_row_t *, the good ones
    int bad;         //  rows refused
    int added;       //  stored
    int skipped;     //  already there
} s_import_t;

static void
s_row_destroy (void **item)
{
    s_row_t *r = *item;
    free (r->key);
    free (r->text);
    free (r);
    *item = NULL;
}

static void
s_str_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_bad (s_import_t *im, int line, const char *why)
{
    fprintf (stderr, "%s: line %d: %s\n", im->cmd, line, why);
    im->bad++;
}

//  The whole file (or standard input) into a NUL-terminated buffer.
static char *
s_slurp (const char *cmd, const char *path, size_t *size)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "%s: cannot open %s: %s\n", cmd, path, strerror (errno));
        return NULL;
    }
    char *buf = malloc (S_FILE_MAX + 1);
    size_t n = buf ? fread (buf, 1, S_FILE_MAX + 1, f) : 0;
    if (f != stdin)
        fclose (f);
    if (!buf || n > S_FILE_MAX) {
        fprintf (stderr, "%s: %s is over %d bytes\n", cmd, path, S_FILE_MAX);
        free (buf);
        return NULL;
    }
    buf[n] = '\0';
    *size = n;
    return buf;
}

static void
s_take (s_import_t *im, const intake_classify_t *dict, int line, const char *key, const char *text,
        size_t len)
{
    char why[768];
    if (s_refusal (dict, key, text, len, why, sizeof why)) {
        s_bad (im, line, why);
        return;
    }
    s_row_t *r = calloc (1, sizeof *r);
    r->line = line;
    r->key = strdup (key);
    r->text = strndup (text, len);
    r->len = len;
    zlistx_add_end (im->rows, r);
}

static void
s_parse_jsonl (s_import_t *im, const intake_classify_t *dict, char *buf, size_t size)
{
    int line = 0;
    for (char *p = buf; p < buf + size;) {
        char *end = memchr (p, '\n', (size_t) (buf + size - p));
        size_t n = end ? (size_t) (end - p) : (size_t) (buf + size - p);
        line++;
        char *start = p;
        p += n + 1;
        while (n && (start[n - 1] == '\r' || start[n - 1] == ' '))
            n--;
        if (n == 0)
            continue;
        json_error_t jerr;
        json_t *obj = json_loadb (start, n, JSON_REJECT_DUPLICATES, &jerr);
        const char *key = obj ? json_string_value (json_object_get (obj, "intent")) : NULL;
        json_t *text = obj ? json_object_get (obj, "text") : NULL;
        char why[256];
        if (!obj)
            snprintf (why, sizeof why, "not JSON: %s", jerr.text);
        else if (!json_is_object (obj) || !key || !json_is_string (text))
            snprintf (why, sizeof why, "needs {\"intent\": KEY, \"text\": TEXT}");
        if (!obj || !json_is_object (obj) || !key || !json_is_string (text))
            s_bad (im, line, why);
        else
            s_take (im, dict, line, key, json_string_value (text), json_string_length (text));
        json_decref (obj);
    }
}

//  One CSV record from *p (RFC 4180: quoted fields may hold commas, ""
//  and line breaks) into fields (owned by the caller's zlistx of char *).
//  *line counts the lines it spans. Returns -1 on a quote left open.
static int
s_csv_record (char **p, char *end, zlistx_t *fields, int *line)
{
    zchunk_t *field = zchunk_new (NULL, 64);
    bool quoted = false, was_quoted = false;
    char *q = *p;
    while (q < end) {
        char ch = *q++;
        if (quoted) {
            if (ch == '"' && q < end && *q == '"') {
                zchunk_extend (field, "\"", 1);
                q++;
            } else if (ch == '"')
                quoted = false;
            else {
                if (ch == '\n')
                    (*line)++;
                zchunk_extend (field, &ch, 1);
            }
        } else if (ch == '"' && zchunk_size (field) == 0 && !was_quoted)
            quoted = was_quoted = true;
        else if (ch == ',' || ch == '\n') {
            zlistx_add_end (fields, strndup ((char *) zchunk_data (field), zchunk_size (field)));
            zchunk_set (field, NULL, 0);
            was_quoted = false;
            if (ch == '\n') {
                (*line)++;
                break;
            }
        } else if (ch != '\r')
            zchunk_extend (field, &ch, 1);
    }
    if (!quoted && (q >= end && (zchunk_size (field) || was_quoted)))
        zlistx_add_end (fields, strndup ((char *) zchunk_data (field), zchunk_size (field)));
    //  A field may hold a NUL byte: strndup stops there and s_take sees
    //  a shorter text than the record; such a text is refused below.
    zchunk_destroy (&field);
    *p = q;
    return quoted ? -1 : 0;
}

static void
s_parse_csv (s_import_t *im, const intake_classify_t *dict, char *buf, size_t size)
{
    char *p = buf, *end = buf + size;
    int line = 1;
    bool head = true;
    while (p < end) {
        int first = line;
        zlistx_t *fields = zlistx_new ();
        zlistx_set_destructor (fields, s_str_destroy);
        char *start = p;
        int open = s_csv_record (&p, end, fields, &line);
        size_t raw = (size_t) (p - start);
        if (open)
            s_bad (im, first, "a quoted field is not closed");
        else if (zlistx_size (fields) == 0 ||
                 (zlistx_size (fields) == 1 && !*(char *) zlistx_first (fields)))
            ; //  an empty line
        else if (head) {
            char *a = zlistx_first (fields), *b = zlistx_next (fields);
            if (zlistx_size (fields) != 2 || strcmp (a, "intent") != 0 || strcmp (b, "text") != 0)
                s_bad (im, first, "the first line must be the head intent,text");
            head = false;
        } else if (zlistx_size (fields) != 2)
            s_bad (im, first, "needs two fields, intent,text (quote a text with commas)");
        else {
            char *key = zlistx_first (fields), *text = zlistx_next (fields);
            //  strndup stopped at a NUL inside the record: refuse it.
            size_t len = memchr (start, '\0', raw) ? strlen (text) + 1 : strlen (text);
            s_take (im, dict, first, key, text, len);
        }
        zlistx_destroy (&fields);
    }
}

static int
s_import_change (kefuctl_change_t *c, void *arg)
{
    s_import_t *im = arg;
    for (s_row_t *r = zlistx_first (im->rows); r; r = zlistx_next (im->rows)) {
        int64_t id;
        int done =
            routing_store_add_phrase (c->store, c->shop_id, r->key, r->text, c->by, &id, &c->err);
        if (done < 0)
            return kefuctl_change_failed (c);
        if (done == 2) {
            char why[128];
            snprintf (why, sizeof why, "shop %s has %d %s phrases already (the limit)", c->shop_id,
                      ROUTING_PHRASES_PER_KEY, r->key);
            s_bad (im, r->line, why);
        } else if (done == 0)
            im->skipped++;
        else
            im->added++;
    }
    fprintf (c->out, "shop %s: %d phrases imported, %d already there, %d rows refused\n",
             c->shop_id, im->added, im->skipped, im->bad);
    return im->added ? kefuctl_change_config (c, "phrases") : KEFUCTL_OK;
}

static int
s_import (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases import";
    const char *shop_id = NULL, *file = NULL, *given = NULL, *by = NULL, *v;
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--format")))
            given = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if ((argv[i][0] != '-' || strcmp (argv[i], "-") == 0) && !shop_id)
            shop_id = argv[i];
        else if ((argv[i][0] != '-' || strcmp (argv[i], "-") == 0) && !file)
            file = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !file) {
        fprintf (stderr, "%s: needs <shop> <file>\n", cmd);
        return KEFUCTL_USAGE;
    }
    const char *format = s_format (cmd, given, file);
    if (!format || kefuctl_check_shop (cmd, shop_id) || !(by = kefuctl_by (cmd, by)))
        return KEFUCTL_USAGE;
    size_t size;
    char *buf = s_slurp (cmd, file, &size);
    if (!buf)
        return KEFUCTL_USAGE;
    intake_classify_t *dict = s_dictionary (cmd);
    if (!dict) {
        free (buf);
        return KEFUCTL_USAGE;
    }
    s_import_t im = {cmd, zlistx_new (), 0, 0, 0};
    zlistx_set_destructor (im.rows, s_row_destroy);
    if (strcmp (format, "csv") == 0)
        s_parse_csv (&im, dict, buf, size);
    else
        s_parse_jsonl (&im, dict, buf, size);
    free (buf);
    intake_classify_destroy (&dict);
    int rc = kefuctl_change_run (ctl, cmd, shop_id, by, s_import_change, &im);
    zlistx_destroy (&im.rows);
    return rc ? rc : im.bad ? KEFUCTL_USAGE : KEFUCTL_OK;
}

int
kefuctl_phrases (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "add") == 0)
        return s_add (ctl, argc, argv);
    if (strcmp (verb, "list") == 0)
        return s_list (ctl, argc, argv);
    if (strcmp (verb, "remove") == 0)
        return s_remove (ctl, argc, argv);
    if (strcmp (verb, "import") == 0)
        return s_import (ctl, argc, argv);
    if (strcmp (verb, "export") == 0)
        return s_export (ctl, argc, argv);
    if (strcmp (verb, "usage") == 0)
        return kefuctl_phrases_usage (ctl, argc - 1, argv + 1);
    fprintf (stderr,
             "kefuctl phrases: unknown verb \"%s\" (add, list, remove, import, export, usage)\n",
             verb);
    return KEFUCTL_USAGE;
}
