/*  kefuctl kpi, kefuctl now — a supervisor's numbers, asked of kefu-metrics.

    kefuctl is a client of metrics' query endpoint here (the Query/Answer
    protocol of control.proto, metrics_query_call): it reads none of
    metrics' tables itself, and what a supervisor may see is decided by
    metrics from the key kefuctl connects with (KEFU_KEY_FILE). */
#include "kefuctl.h"

#include "kf_error.h"
#include "metrics_http.h"
#include "metrics_query.h"
#include "metrics_score.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_TEXT, S_JSON, S_CSV } s_format_t;

static ProtobufCBinaryData
s_bytes (const char *s)
{
    return (ProtobufCBinaryData){s ? strlen (s) : 0, (uint8_t *) s};
}

//  kefuctl_metrics_ask unless parsing the command line failed already (rc
//  is that exit code; the parameters are freed either way).
static int
s_ask_kind (kefuctl_t *ctl, const char *cmd, int rc, const char *kind, const char *shop,
            const char *by, json_t **params_p, json_t **out)
{
    if (rc) {
        json_decref (*params_p);
        *params_p = NULL;
        return rc;
    }
    return kefuctl_metrics_ask (ctl, cmd, kind, shop, by, params_p, out);
}

//  What every command here starts with: --help (KEFUCTL_OK once printed),
//  the shop (KEFUCTL_USAGE without it); -1: go on.
static int
s_first_words (int argc, char **argv, const char *cmd, void (*help) (void))
{
    if (kefuctl_wants_help (argc, argv)) {
        help ();
        return KEFUCTL_OK;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf (stderr, "%s: which shop? (%s SHOP, see --help)\n", cmd, cmd);
        return KEFUCTL_USAGE;
    }
    return -1;
}

//  ---------------------------------------------------------------------
//  Reading answers

//  A number by path ("first_response.mean_s"), NAN when null or absent.
static double
s_num (json_t *o, const char *path)
{
    o = metrics_http_json_at (o, path);
    return json_is_number (o) ? json_number_value (o) : NAN;
}

static const char *
s_str (json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

//  A duration for people: 12.3s, 6m40s, 8h46m; "-" when none.
static const char *
s_dur (double seconds, char *buf, size_t size)
{
    if (isnan (seconds))
        snprintf (buf, size, "-");
    else if (seconds < 60)
        snprintf (buf, size, "%.1fs", seconds);
    else if (seconds < 3600)
        snprintf (buf, size, "%dm%02ds", (int) seconds / 60, (int) seconds % 60);
    else
        snprintf (buf, size, "%dh%02dm", (int) seconds / 3600, (int) seconds / 60 % 60);
    return buf;
}

static const char *
s_pct (double rate, char *buf, size_t size)
{
    if (isnan (rate))
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.1f%%", rate * 100);
    return buf;
}

static const char *
s_ratio (double v, char *buf, size_t size)
{
    if (isnan (v))
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.2f", v);
    return buf;
}

//  The columns of a table or CSV of KPI rows.
static const struct {
    const char *name; //  header
    const char *path; //  in the KPI object
    char kind;        //  n count, s seconds, r rate, x ratio
} s_columns[] = {
    {"conversations", "conversations.customer_opened", 'n'},
    {"answered", "conversations.answered", 'n'},
    {"answer_rate", "conversations.answer_rate", 'r'},
    {"frt_mean", "first_response.mean_s", 's'},
    {"frt_median", "first_response.median_s", 's'},
    {"frt_p90", "first_response.p90_s", 's'},
    {"frt_within", "first_response.within_threshold_rate", 'r'},
    {"rounds", "response.rounds", 'n'},
    {"response_mean", "response.mean_s", 's'},
    {"response_within", "response.within_threshold_rate", 'r'},
    {"queued", "queue.queued", 'n'},
    {"longest_wait", "queue.longest_wait_s", 's'},
    {"abandoned", "queue.abandoned", 'n'},
    {"ratings", "satisfaction.ratings", 'n'},
    {"csat", "satisfaction.csat", 'r'},
    {"closed", "resolution.closed", 'n'},
    {"close_mean", "resolution.mean_close_s", 's'},
    {"reply_ratio", "messages.reply_ratio", 'x'},
    {"qa_per_100", "qa.flags_per_100_replies", 'x'},
};
#define S_COLUMNS (int) (sizeof s_columns / sizeof s_columns[0])

static const char *
s_cell (json_t *row, int c, bool csv, char *buf, size_t size)
{
    double v = s_num (row, s_columns[c].path);
    if (csv) {
        if (isnan (v))
            buf[0] = '\0';
        else if (s_columns[c].kind == 'n')
            snprintf (buf, size, "%.0f", v);
        else
            snprintf (buf, size, "%.6g", v);
        return buf;
    }
    switch (s_columns[c].kind) {
    case 'n':
        snprintf (buf, size, "%.0f", isnan (v) ? 0 : v);
        return buf;
    case 's':
        return s_dur (v, buf, size);
    case 'r':
        return s_pct (v, buf, size);
    default:
        return s_ratio (v, buf, size);
    }
}

//  CSV: the header, then a row per group.
static void
s_csv_header (const char *first)
{
    fputs (first, stdout);
    for (int c = 0; c < S_COLUMNS; c++)
        printf (",%s", s_columns[c].name);
    putchar ('\n');
}

static void
s_csv_row (const char *key, json_t *row)
{
    char buf[64];
    kefuctl_csv_field (key);
    for (int c = 0; c < S_COLUMNS; c++) {
        putchar (',');
        kefuctl_csv_field (s_cell (row, c, true, buf, sizeof buf));
    }
    putchar ('\n');
}

//  For people: a row of the table.
static void
s_table_row (kefuctl_table_t *table, const char *key, json_t *row)
{
    char cells[1 + S_COLUMNS][64];
    const char *ptrs[1 + S_COLUMNS];
    snprintf (cells[0], sizeof cells[0], "%s", key);
    ptrs[0] = cells[0];
    for (int c = 0; c < S_COLUMNS; c++)
        ptrs[1 + c] = s_cell (row, c, false, cells[1 + c], sizeof cells[1 + c]);
    kefuctl_table_add (table, ptrs);
}

//  The whole period, for people.
static void
s_print_summary (json_t *root)
{
    json_t *t = json_object_get (root, "total");
    char a[32], b[32], c[32], d[32], e[32];
    printf ("%s  %s .. %s  (%s)\n\n", s_str (root, "shop_id"), s_str (root, "from"),
            s_str (root, "to"), s_str (root, "timezone"));
    printf ("conversations     %.0f opened by customers (%.0f after hours), %.0f by the shop\n",
            s_num (t, "conversations.customer_opened"), s_num (t, "conversations.after_hours"),
            s_num (t, "conversations.shop_opened"));
    printf ("接线率             %s answered (after hours: %s)\n",
            s_pct (s_num (t, "conversations.answer_rate"), a, sizeof a),
            s_pct (s_num (t, "conversations.after_hours_answer_rate"), b, sizeof b));
    printf ("first response    %.0f: mean %s, median %s, p90 %s, within %.0fs %s; after hours "
            "%.0f, mean %s\n",
            s_num (t, "first_response.count"), s_dur (s_num (t, "first_response.mean_s"), a, 32),
            s_dur (s_num (t, "first_response.median_s"), b, 32),
            s_dur (s_num (t, "first_response.p90_s"), c, 32), s_num (root, "threshold_s"),
            s_pct (s_num (t, "first_response.within_threshold_rate"), d, 32),
            s_num (t, "first_response.after_hours.count"),
            s_dur (s_num (t, "first_response.after_hours.mean_s"), e, 32));
    printf (
        "response (rounds) %.0f: mean %s, median %s, p90 %s, within %.0fs %s; %.0f unanswered\n",
        s_num (t, "response.rounds"), s_dur (s_num (t, "response.mean_s"), a, 32),
        s_dur (s_num (t, "response.median_s"), b, 32), s_dur (s_num (t, "response.p90_s"), c, 32),
        s_num (root, "threshold_s"), s_pct (s_num (t, "response.within_threshold_rate"), d, 32),
        s_num (t, "response.unanswered"));
    printf ("queue             %.0f queued, %.0f waits: mean %s, longest %s; %.0f abandoned\n",
            s_num (t, "queue.queued"), s_num (t, "queue.waits"),
            s_dur (s_num (t, "queue.mean_wait_s"), a, 32),
            s_dur (s_num (t, "queue.longest_wait_s"), b, 32), s_num (t, "queue.abandoned"));
    printf ("satisfaction      %.0f ratings, CSAT %s (1:%.0f 2:%.0f 3:%.0f 4:%.0f 5:%.0f)\n",
            s_num (t, "satisfaction.ratings"), s_pct (s_num (t, "satisfaction.csat"), a, 32),
            s_num (t, "satisfaction.distribution.1"), s_num (t, "satisfaction.distribution.2"),
            s_num (t, "satisfaction.distribution.3"), s_num (t, "satisfaction.distribution.4"),
            s_num (t, "satisfaction.distribution.5"));
    printf ("resolution        %.0f closed: time to close mean %s, median %s, p90 %s\n",
            s_num (t, "resolution.closed"), s_dur (s_num (t, "resolution.mean_close_s"), a, 32),
            s_dur (s_num (t, "resolution.median_close_s"), b, 32),
            s_dur (s_num (t, "resolution.p90_close_s"), c, 32));
    printf ("答问比             %s (%.0f replies, %.0f customer messages, %.0f auto-replies)\n",
            s_ratio (s_num (t, "messages.reply_ratio"), a, 32), s_num (t, "messages.replies"),
            s_num (t, "messages.customer"), s_num (t, "messages.auto_replies"));
    printf ("QA                %.0f flags in %.0f replies (%s per 100 replies)\n",
            s_num (t, "qa.flags"), s_num (t, "qa.flagged_replies"),
            s_ratio (s_num (t, "qa.flags_per_100_replies"), a, 32));
}

//  ---------------------------------------------------------------------
//  kefuctl kpi

static void
s_kpi_help (void)
{
    printf (
        "Usage: kefuctl kpi SHOP [--from DATE] [--to DATE] [--by agent|group|channel|hour|day|"
        "week|month]\n"
        "                   [--agent ID] [--group NAME] [--channel NAME] [--threshold SECONDS]\n"
        "                   [--json | --csv]\n"
        "       kefuctl kpi SHOP --orders [--from DATE] [--to DATE] [--by agent] [--json | --csv]\n"
        "       kefuctl kpi SHOP --aftersales [--from DATE] [--to DATE] [--json | --csv]\n\n"
        "A shop's numbers for a period, as kefu-metrics counts them (README: \"What each\n"
        "number means\"): conversations, 接线率, first response and per-round response times\n"
        "(mean, median, p90, the share within the threshold), the queue, satisfaction, time to\n"
        "close, 答问比 and QA flags. Dates are days in the shop's time zone (YYYY-MM-DD, --to\n"
        "included) or UTC times (2026-11-23T08:30:00Z, --to excluded); default: today. --by\n"
        "breaks the period down (hours to months in the shop's time zone). --threshold sets the\n"
        "X of the X-second rates (default 20; a histogram bound: 1-60, 65-300 by 5, ...).\n"
        "--json prints kefu-metrics' answer as it is; --csv one row per line, the total first.\n"
        "--orders: the order desk's numbers (询单转化率, credited sales, order timeliness\n"
        "against the 95 %% target, reminders), --by agent per agent; --aftersales:\n"
        "complaints and bad reviews opened, closed, overdue, the revisit-in-3-days rate and\n"
        "the money remedies moved (README: \"What each number means\").\n"
        "Asks KEFU_METRICS_ENDPOINT with the key pair in KEFU_KEY_FILE (a supervisor sees only\n"
        "their shops); KEFU_METRICS_SERVER_KEY is metrics' public key (empty: plain, for\n"
        "KEFU_INSECURE development).\n"
        "Exit codes: 0 answered, 1 not answered or not allowed, 2 bad usage or a refused\n"
        "question, 4 no such shop.\n");
}

int
kefuctl_kpi (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl kpi";
    int first = s_first_words (argc, argv, cmd, s_kpi_help);
    if (first >= 0)
        return first;
    for (int i = 2; i < argc; i++)
        if (strcmp (argv[i], "--orders") == 0 || strcmp (argv[i], "--aftersales") == 0)
            return kefuctl_kpi_desk (ctl, argc, argv);
    const char *shop = argv[1], *by = "";
    s_format_t format = S_TEXT;
    json_t *params = json_object ();
    int rc = kefuctl_check_shop (cmd, shop);
    for (int i = 2; i < argc && !rc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--from")))
            json_object_set_new (params, "from", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--to")))
            json_object_set_new (params, "to", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--agent")))
            json_object_set_new (params, "agent", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--group")))
            json_object_set_new (params, "group", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--channel")))
            json_object_set_new (params, "channel", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--threshold"))) {
            int64_t s;
            rc = kefuctl_parse_int (cmd, "--threshold", v, 1, 86400, &s);
            json_object_set_new (params, "threshold_s", json_integer (s));
        } else if (strcmp (argv[i], "--json") == 0)
            format = S_JSON;
        else if (strcmp (argv[i], "--csv") == 0)
            format = S_CSV;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    json_t *root = NULL;
    rc = s_ask_kind (ctl, cmd, rc, "kpi.summary", shop, by, &params, &root);
    if (rc)
        return rc;
    json_t *rows = json_object_get (root, "rows");
    if (format == S_JSON) {
        char *out = json_dumps (root, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
        printf ("%s\n", out);
        free (out);
    } else if (format == S_CSV || json_array_size (rows) > 0) {
        bool csv = format == S_CSV;
        const char *head[1 + S_COLUMNS] = {*by ? by : "period"};
        for (int c = 0; c < S_COLUMNS; c++)
            head[1 + c] = s_columns[c].name;
        kefuctl_table_t *table = csv ? NULL : kefuctl_table_new (1 + S_COLUMNS, head);
        if (csv)
            s_csv_header (head[0]);
        else
            printf ("%s  %s .. %s  (%s), by %s\n\n", s_str (root, "shop_id"), s_str (root, "from"),
                    s_str (root, "to"), s_str (root, "timezone"), *by ? by : "-");
        json_t *total = json_object_get (root, "total");
        if (csv)
            s_csv_row ("total", total);
        else
            s_table_row (table, "total", total);
        size_t i;
        json_t *row;
        json_array_foreach (rows, i, row)
        {
            const char *key = *s_str (row, "key") ? s_str (row, "key") : "-";
            if (csv)
                s_csv_row (key, row);
            else
                s_table_row (table, key, row);
        }
        if (table) {
            kefuctl_table_print (table, stdout);
            kefuctl_table_destroy (&table);
        }
    } else
        s_print_summary (root);
    json_decref (root);
    return KEFUCTL_OK;
}

//  ---------------------------------------------------------------------
//  kefuctl now

static void
s_now_help (void)
{
    printf (
        "Usage: kefuctl now SHOP [--json | --csv]\n\n"
        "Who is online right now, how many conversations each agent has (load) and how many\n"
        "of their customers wait for a human reply; then every customer who waits, longest\n"
        "first (kefu-metrics' agents.now and conversations.waiting). --json prints both\n"
        "answers as {\"agents\": ..., \"waiting\": ...}; --csv the agents, a blank line, the\n"
        "waiting conversations. Connection settings as for kefuctl kpi.\n"
        "Exit codes: 0 answered, 1 not answered or not allowed, 2 bad usage, 4 no such shop.\n");
}

int
kefuctl_now (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl now";
    int first = s_first_words (argc, argv, cmd, s_now_help);
    if (first >= 0)
        return first;
    const char *shop = argv[1];
    s_format_t format = S_TEXT;
    int rc = kefuctl_check_shop (cmd, shop);
    for (int i = 2; i < argc && !rc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            format = S_JSON;
        else if (strcmp (argv[i], "--csv") == 0)
            format = S_CSV;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    json_t *agents = NULL, *waiting = NULL;
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_bytes ("kefuctl-now");
    q.shop_id = s_bytes (shop);
    q.kind = s_bytes ("agents.now");
    if (!rc)
        rc = kefuctl_metrics_query (ctl, cmd, &q, &agents);
    q.kind = s_bytes ("conversations.waiting");
    if (!rc)
        rc = kefuctl_metrics_query (ctl, cmd, &q, &waiting);
    if (rc) {
        json_decref (agents);
        return rc;
    }
    json_t *list = json_object_get (agents, "agents");
    json_t *convs = json_object_get (waiting, "conversations");
    size_t i;
    json_t *row;
    char a[32], b[32];
    if (format == S_JSON) {
        json_t *both = json_pack ("{s:O, s:O}", "agents", agents, "waiting", waiting);
        char *out = json_dumps (both, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
        printf ("%s\n", out);
        free (out);
        json_decref (both);
    } else if (format == S_CSV) {
        printf ("agent,status,since,load,waiting,longest_wait_s\n");
        json_array_foreach (list, i, row)
        {
            kefuctl_csv_field (s_str (row, "agent_id"));
            double w = s_num (row, "longest_wait_s");
            printf (",%s,%s,%.0f,%.0f,", s_str (row, "status"), s_str (row, "since"),
                    s_num (row, "load"), s_num (row, "waiting"));
            if (!isnan (w))
                printf ("%.3f", w);
            putchar ('\n');
        }
        printf ("\nconversation,channel,customer,group,owner,queued,waiting_since,waited_s,"
                "customer_messages\n");
        json_array_foreach (convs, i, row)
        {
            printf ("%.0f,%s,", s_num (row, "conversation_id"), s_str (row, "channel"));
            kefuctl_csv_field (s_str (row, "customer"));
            printf (",%s,%s,%s,%s,%.3f,%.0f\n", s_str (row, "group"), s_str (row, "owner"),
                    json_is_true (json_object_get (row, "queued")) ? "true" : "false",
                    s_str (row, "waiting_since"), s_num (row, "waited_s"),
                    s_num (row, "customer_messages"));
        }
    } else {
        printf ("%s  now %s: %.0f open, %.0f queued, %.0f waiting for a reply\n\n",
                s_str (agents, "shop_id"), s_str (agents, "now"), s_num (agents, "open"),
                s_num (agents, "queued"), s_num (agents, "waiting"));
        const char *agent_head[] = {"agent", "status", "since", "load", "waiting", "longest wait"};
        kefuctl_table_t *table = kefuctl_table_new (6, agent_head);
        json_array_foreach (list, i, row)
        {
            char load[16], n[16];
            snprintf (load, sizeof load, "%.0f", s_num (row, "load"));
            snprintf (n, sizeof n, "%.0f", s_num (row, "waiting"));
            const char *cells[] = {s_str (row, "agent_id"),
                                   s_str (row, "status"),
                                   s_str (row, "since"),
                                   load,
                                   n,
                                   s_dur (s_num (row, "longest_wait_s"), a, sizeof a)};
            kefuctl_table_add (table, cells);
        }
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
        putchar ('\n');
        const char *conv_head[] = {"conversation", "customer", "group",
                                   "owner",        "queued",   "waited"};
        table = kefuctl_table_new (6, conv_head);
        json_array_foreach (convs, i, row)
        {
            char id[24];
            snprintf (id, sizeof id, "%.0f", s_num (row, "conversation_id"));
            const char *owner = s_str (row, "owner"), *group = s_str (row, "group");
            const char *cells[] = {id,
                                   s_str (row, "customer"),
                                   *group ? group : "-",
                                   *owner ? owner : "-",
                                   json_is_true (json_object_get (row, "queued")) ? "yes" : "no",
                                   s_dur (s_num (row, "waited_s"), b, sizeof b)};
            kefuctl_table_add (table, cells);
        }
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
    }
    json_decref (agents);
    json_decref (waiting);
    return KEFUCTL_OK;
}

//  ---------------------------------------------------------------------
//  kefuctl scorecard

static void
s_scorecard_help (void)
{
    printf ("Usage: kefuctl scorecard SHOP [--month YYYY-MM] [--agent ID] [--json | --csv]\n\n"
            "Every agent's scorecard of a month (default: this month in the shop's time zone),\n"
            "as kefu-metrics computes it with the shop's scheme (kefuctl metrics settings): sales\n"
            "(own credited paid sales / the team's average x weight x conversion coefficient),\n"
            "key promotion and service check (entered with kefuctl score set), complaints (the\n"
            "weight less the deductions for findings against the agent) and customer records.\n"
            "An item kefu has no data for shows \"-\" and the reason below the table; the total\n"
            "adds up the items that have a score. Below it, every scheduled agent's attendance\n"
            "of the month (shifts, present, late, early leave, absent, unanswered chats in their\n"
            "hours: informational, no points). --json prints kefu-metrics' answer as it is;\n"
            "--csv one row per agent, attendance in its last columns. Connection settings as\n"
            "for kefuctl kpi.\n"
            "Exit codes: 0 answered, 1 not answered or not allowed, 2 bad usage or a refused\n"
            "question, 4 no such shop.\n");
}

//  SHOP [--month M] [--date D (with_date)] [--agent ID] [--json | --csv]
//  into params (borrowed) and *format; 0 or the exit code.
static int
s_month_args (int argc, char **argv, const char *cmd, bool with_date, json_t *params,
              s_format_t *format)
{
    int rc = kefuctl_check_shop (cmd, argv[1]);
    for (int i = 2; i < argc && !rc; i++) {
        const char *v;
        if (with_date && (v = kefuctl_opt (argc, argv, &i, "--date")))
            json_object_set_new (params, "date", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--month")))
            json_object_set_new (params, "month", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--agent")))
            json_object_set_new (params, "agent", json_string (v));
        else if (strcmp (argv[i], "--json") == 0)
            *format = S_JSON;
        else if (strcmp (argv[i], "--csv") == 0)
            *format = S_CSV;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    return rc;
}

//  An item's score for a cell: "12.5", or "-" (null).
static const char *
s_score_cell (json_t *agent, const char *item, char *buf, size_t size)
{
    char path[64];
    snprintf (path, sizeof path, "items.%s.score", item);
    double v = s_num (agent, path);
    if (isnan (v))
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.2f", v);
    return buf;
}

//  The attendance columns of a scorecard row (CSV: empty when the agent
//  has no schedule), the line ended.
static const char *const s_att_keys[] = {"shifts",      "present", "late",
                                         "early_leave", "absent",  "unanswered"};
#define S_ATT_KEYS 6

static void
s_attendance_cells (json_t *att)
{
    for (int k = 0; k < S_ATT_KEYS; k++)
        if (json_is_object (att))
            printf (",%.0f", s_num (att, s_att_keys[k]));
        else
            putchar (',');
    putchar ('\n');
}

//  For people: the month's attendance of every scheduled agent
//  (informational, no points).
static void
s_attendance_table (json_t *attendance)
{
    if (!json_object_size (attendance))
        return;
    printf ("\nattendance (informational, no points)\n");
    const char *head[] = {"agent",       "shifts", "present",   "late",
                          "early leave", "absent", "unanswered"};
    kefuctl_table_t *table = kefuctl_table_new (7, head);
    const char *agent;
    json_t *t;
    json_object_foreach (attendance, agent, t)
    {
        char cells[S_ATT_KEYS][24];
        const char *row[7] = {agent};
        for (int k = 0; k < S_ATT_KEYS; k++) {
            snprintf (cells[k], sizeof cells[k], "%.0f", s_num (t, s_att_keys[k]));
            row[1 + k] = cells[k];
        }
        kefuctl_table_add (table, row);
    }
    kefuctl_table_print (table, stdout);
    kefuctl_table_destroy (&table);
}

int
kefuctl_scorecard (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl scorecard";
    int first = s_first_words (argc, argv, cmd, s_scorecard_help);
    if (first >= 0)
        return first;
    const char *shop = argv[1];
    s_format_t format = S_TEXT;
    json_t *params = json_object ();
    int rc = s_month_args (argc, argv, cmd, false, params, &format);
    json_t *root = NULL;
    rc = s_ask_kind (ctl, cmd, rc, "agent.scorecard", shop, "", &params, &root);
    if (rc)
        return rc;
    json_t *agents = json_object_get (root, "agents");
    size_t i;
    json_t *a;
    char cells[METRICS_ITEMS][32];
    if (format == S_JSON) {
        char *out = json_dumps (root, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
        printf ("%s\n", out);
        free (out);
    } else if (format == S_CSV) {
        printf ("agent,sales,sales_cents,orders,key_promotion,service_check,complaints,"
                "complaints_valid,wrong_explanation,unverifiable,customer_records,total,complete,"
                "shifts,present,late,early_leave,absent,unanswered\n");
        json_array_foreach (agents, i, a)
        {
            kefuctl_csv_field (s_str (a, "agent_id"));
            for (int k = 0; k < METRICS_ITEMS; k++)
                if (strcmp (s_score_cell (a, metrics_item_names[k], cells[k], 32), "-") == 0)
                    cells[k][0] = '\0';
            double c[5] = {s_num (a, "items.sales.sales_cents"), s_num (a, "items.sales.orders"),
                           s_num (a, "items.complaints.valid"),
                           s_num (a, "items.complaints.wrong_explanation"),
                           s_num (a, "items.complaints.unverifiable")};
            char n[5][24];
            for (int k = 0; k < 5; k++)
                snprintf (n[k], sizeof n[k], isnan (c[k]) ? "" : "%.0f", c[k]);
            printf (",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.2f,%s", cells[METRICS_ITEM_SALES], n[0], n[1],
                    cells[METRICS_ITEM_KEY_PROMOTION], cells[METRICS_ITEM_SERVICE_CHECK],
                    cells[METRICS_ITEM_COMPLAINTS], n[2], n[3], n[4],
                    cells[METRICS_ITEM_CUSTOMER_RECORDS], s_num (a, "total"),
                    json_is_true (json_object_get (a, "complete")) ? "true" : "false");
            s_attendance_cells (json_object_get (a, "attendance"));
        }
    } else {
        json_t *w = json_object_get (json_object_get (root, "scheme"), "weights");
        printf ("%s  %s  (%s)  weights: sales %.0f, key promotion %.0f, service check %.0f, "
                "complaints %.0f, customer records %.0f; conversion coefficient %.2f\n\n",
                s_str (root, "shop_id"), s_str (root, "month"), s_str (root, "timezone"),
                s_num (w, "sales"), s_num (w, "key_promotion"), s_num (w, "service_check"),
                s_num (w, "complaints"), s_num (w, "customer_records"),
                s_num (root, "scheme.conversion_coefficient"));
        const char *head[] = {"agent",         "sales",      "key promotion",
                              "service check", "complaints", "customer records",
                              "total"};
        kefuctl_table_t *table = kefuctl_table_new (7, head);
        json_t *reasons = json_object ();
        json_array_foreach (agents, i, a)
        {
            char total[32];
            snprintf (total, sizeof total, "%.2f%s", s_num (a, "total"),
                      json_is_true (json_object_get (a, "complete")) ? "" : " *");
            const char *row[7] = {s_str (a, "agent_id")};
            for (int k = 0; k < METRICS_ITEMS; k++) {
                row[1 + k] = s_score_cell (a, metrics_item_names[k], cells[k], 32);
                json_t *item =
                    json_object_get (json_object_get (a, "items"), metrics_item_names[k]);
                const char *why = s_str (item, "reason");
                if (*why && !json_object_get (reasons, metrics_item_names[k]))
                    json_object_set_new (reasons, metrics_item_names[k], json_string (why));
            }
            row[6] = total;
            kefuctl_table_add (table, row);
        }
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
        s_attendance_table (json_object_get (root, "attendance"));
        if (json_object_size (reasons)) {
            printf ("\n* the total of the items that have a score; \"-\": no score yet\n");
            const char *key;
            json_t *v;
            json_object_foreach (reasons, key, v) printf ("  %s: %s\n", key, json_string_value (v));
        }
        json_decref (reasons);
    }
    json_decref (root);
    return KEFUCTL_OK;
}

//  ---------------------------------------------------------------------
//  kefuctl attendance

static void
s_attendance_help (void)
{
    printf ("Usage: kefuctl attendance SHOP [--date YYYY-MM-DD | --month YYYY-MM] [--agent ID]\n"
            "                          [--json | --csv]\n\n"
            "Attendance (漏班) from the record: every agent's scheduled shifts of a day (default:\n"
            "today in the shop's time zone) or a month, as kefu-metrics judges them from the\n"
            "schedules routing publishes, the agents' presence and their replies: present\n"
            "from/to, late start, early leave, absent, and the chats of those hours left\n"
            "unanswered. Grace minutes: kefuctl metrics settings --late-grace N --early-grace N.\n"
            "--json prints kefu-metrics' answer as it is; --csv one row per agent and shift.\n"
            "Connection settings as for kefuctl kpi.\n"
            "Exit codes: 0 answered, 1 not answered or not allowed, 2 bad usage or a refused\n"
            "question, 4 no such shop.\n");
}

//  The local clock time of an answer's time ("2026-12-07T08:25:00+08:00"
//  -> "08:25"), "-" for null; the date too when it is not the row's.
static const char *
s_clock_cell (json_t *row, const char *key, char *buf, size_t size)
{
    const char *t = s_str (row, key), *date = s_str (row, "date");
    if (strlen (t) < 16)
        snprintf (buf, size, "-");
    else if (strncmp (t, date, 10) != 0)
        snprintf (buf, size, "%.5s %.5s", t + 5, t + 11);
    else
        snprintf (buf, size, "%.5s", t + 11);
    return buf;
}

int
kefuctl_attendance (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl attendance";
    int first = s_first_words (argc, argv, cmd, s_attendance_help);
    if (first >= 0)
        return first;
    const char *shop = argv[1];
    s_format_t format = S_TEXT;
    json_t *params = json_object ();
    int rc = s_month_args (argc, argv, cmd, true, params, &format);
    json_t *root = NULL;
    rc = s_ask_kind (ctl, cmd, rc, "agent.attendance", shop, "", &params, &root);
    if (rc)
        return rc;
    json_t *rows = json_object_get (root, "rows");
    size_t i;
    json_t *r;
    if (format == S_JSON) {
        char *out = json_dumps (root, JSON_INDENT (2));
        printf ("%s\n", out);
        free (out);
    } else if (format == S_CSV) {
        printf ("date,agent,shift,start,end,status,present_from,present_to,present_minutes,"
                "late_minutes,early_minutes,absent,unanswered\n");
        json_array_foreach (rows, i, r)
        {
            const char *fields[] = {"date", "agent_id", "shift",        "start",
                                    "end",  "status",   "present_from", "present_to"};
            for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
                if (k)
                    putchar (',');
                kefuctl_csv_field (s_str (r, fields[k]));
            }
            printf (",%.0f,%.0f,%.0f,%s,%.0f\n", s_num (r, "present_minutes"),
                    s_num (r, "late_minutes"), s_num (r, "early_minutes"),
                    json_is_true (json_object_get (r, "absent")) ? "true" : "false",
                    s_num (r, "unanswered"));
        }
    } else {
        const char *period = *s_str (root, "date") ? s_str (root, "date") : s_str (root, "month");
        printf ("%s  %s  (%s)  grace: late %.0f min, early leave %.0f min\n\n",
                s_str (root, "shop_id"), period, s_str (root, "timezone"),
                s_num (root, "settings.late_grace_min"), s_num (root, "settings.early_grace_min"));
        const char *head[] = {"date", "agent", "shift", "hours",       "status",
                              "from", "to",    "late",  "early leave", "unanswered"};
        kefuctl_table_t *table = kefuctl_table_new (10, head);
        json_array_foreach (rows, i, r)
        {
            char hours[32], from[24], to[24], late[16], early[16], unanswered[16], a[24], b[24];
            snprintf (hours, sizeof hours, "%s-%s", s_clock_cell (r, "start", a, sizeof a),
                      s_clock_cell (r, "end", b, sizeof b));
            s_clock_cell (r, "present_from", from, sizeof from);
            if (json_is_true (json_object_get (r, "still_present")))
                snprintf (to, sizeof to, "(still in)");
            else
                s_clock_cell (r, "present_to", to, sizeof to);
            snprintf (late, sizeof late,
                      json_is_true (json_object_get (r, "late")) ? "%.0f min" : "-",
                      s_num (r, "late_minutes"));
            snprintf (early, sizeof early,
                      json_is_true (json_object_get (r, "early_leave")) ? "%.0f min" : "-",
                      s_num (r, "early_minutes"));
            snprintf (unanswered, sizeof unanswered, "%.0f", s_num (r, "unanswered"));
            const char *cells[] = {s_str (r, "date"),
                                   s_str (r, "agent_id"),
                                   s_str (r, "shift"),
                                   hours,
                                   s_str (r, "status"),
                                   from,
                                   to,
                                   late,
                                   early,
                                   unanswered};
            kefuctl_table_add (table, cells);
        }
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
        if (!json_is_true (json_object_get (root, "scheduled")))
            printf ("\nno schedule from kefu-routing for this shop yet (kefuctl shift, kefuctl "
                    "agent ... --shift)\n");
        printf ("\nshifts %.0f, late %.0f, early leave %.0f, absent %.0f\n",
                s_num (root, "totals.shifts"), s_num (root, "totals.late"),
                s_num (root, "totals.early_leave"), s_num (root, "totals.absent"));
    }
    json_decref (root);
    return KEFUCTL_OK;
}
