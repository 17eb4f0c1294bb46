/*  kefuctl phrases usage, kefuctl kpi --orders | --aftersales — what the
    desk and the order and after-sales desks do, asked of kefu-metrics (a
    client of its query endpoint, like kefuctl kpi). */
#include "kefuctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
s_str (json_t *o, const char *key)
{
    const char *s = json_string_value (json_object_get (o, key));
    return s ? s : "";
}

static long long
s_int (json_t *o, const char *key)
{
    return (long long) json_integer_value (json_object_get (o, key));
}

typedef struct {
    const char *by;  //  --by, "" none
    bool json;       //  --json
    bool csv;        //  --csv
    bool orders;     //  --orders
    bool aftersales; //  --aftersales
} s_args_t;

//  argv: WORD SHOP [--from D] [--to D] [--by B] [--agent ID] [--orders]
//  [--aftersales] [--json | --csv]: ask kind (--aftersales:
//  aftersales.summary when kind is NULL, else orders.summary). *out as for
//  kefuctl_metrics_ask.
static int
s_ask (kefuctl_t *ctl, const char *cmd, const char *kind, int argc, char **argv, s_args_t *args,
       json_t **out)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf (stderr, "%s: which shop? (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    const char *shop = argv[1];
    json_t *params = json_object ();
    int rc = kefuctl_check_shop (cmd, shop);
    args->by = "";
    for (int i = 2; i < argc && !rc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--from")))
            json_object_set_new (params, "from", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--to")))
            json_object_set_new (params, "to", json_string (v));
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            args->by = v;
        else if (!kind && strcmp (argv[i], "--orders") == 0)
            args->orders = true;
        else if (!kind && strcmp (argv[i], "--aftersales") == 0)
            args->aftersales = true;
        else if (kind && (v = kefuctl_opt (argc, argv, &i, "--agent")))
            json_object_set_new (params, "agent", json_string (v));
        else if (strcmp (argv[i], "--json") == 0)
            args->json = true;
        else if (strcmp (argv[i], "--csv") == 0)
            args->csv = true;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!rc && !kind && args->orders == args->aftersales) {
        fprintf (stderr, "%s: --orders or --aftersales, not both\n", cmd);
        rc = KEFUCTL_USAGE;
    }
    if (rc) {
        json_decref (params);
        return rc;
    }
    if (!kind)
        kind = args->orders ? "orders.summary" : "aftersales.summary";
    return kefuctl_metrics_ask (ctl, cmd, kind, shop, args->by, &params, out);
}

static void
s_print_json (json_t *root)
{
    char *out = json_dumps (root, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
    printf ("%s\n", out);
    free (out);
}

int
kefuctl_phrases_usage (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases usage";
    s_args_t args = {0};
    json_t *root = NULL;
    int rc = s_ask (ctl, cmd, "phrases.usage", argc, argv, &args, &root);
    if (rc)
        return rc;
    const char *by = args.by;
    bool json = args.json, csv = args.csv;
    json_t *rows = json_object_get (root, "rows");
    bool by_agent = strcmp (by, "agent") == 0, by_phrase = strcmp (by, "phrase") == 0;
    size_t i;
    json_t *r;
    if (json)
        s_print_json (root);
    else if (csv) {
        printf (by_agent    ? "agent,uses,phrases\n"
                : by_phrase ? "phrase_id,intent,uses,agents\n"
                            : "agent,phrase_id,intent,uses\n");
        json_array_foreach (rows, i, r)
        {
            if (by_agent) {
                kefuctl_csv_field (s_str (r, "agent_id"));
                printf (",%lld,%lld\n", s_int (r, "uses"), s_int (r, "phrases"));
            } else if (by_phrase)
                printf ("%lld,%s,%lld,%lld\n", s_int (r, "phrase_id"), s_str (r, "intent"),
                        s_int (r, "uses"), s_int (r, "agents"));
            else {
                kefuctl_csv_field (s_str (r, "agent_id"));
                printf (",%lld,%s,%lld\n", s_int (r, "phrase_id"), s_str (r, "intent"),
                        s_int (r, "uses"));
            }
        }
    } else {
        json_t *total = json_object_get (root, "total");
        printf ("%s  %s .. %s  (%s)\n\n", s_str (root, "shop_id"), s_str (root, "from"),
                s_str (root, "to"), s_str (root, "timezone"));
        const char *agent_head[] = {"agent", "uses", "phrases"};
        const char *phrase_head[] = {"phrase", "intent", "uses", "agents"};
        const char *both_head[] = {"agent", "phrase", "intent", "uses"};
        kefuctl_table_t *table = by_agent    ? kefuctl_table_new (3, agent_head)
                                 : by_phrase ? kefuctl_table_new (4, phrase_head)
                                             : kefuctl_table_new (4, both_head);
        json_array_foreach (rows, i, r)
        {
            char a[24], b[24], c[24];
            snprintf (a, sizeof a, "%lld", s_int (r, "uses"));
            snprintf (b, sizeof b, "%lld", s_int (r, by_agent ? "phrases" : "agents"));
            snprintf (c, sizeof c, "%lld", s_int (r, "phrase_id"));
            if (by_agent) {
                const char *cells[] = {s_str (r, "agent_id"), a, b};
                kefuctl_table_add (table, cells);
            } else if (by_phrase) {
                const char *cells[] = {c, s_str (r, "intent"), a, b};
                kefuctl_table_add (table, cells);
            } else {
                const char *cells[] = {s_str (r, "agent_id"), c, s_str (r, "intent"), a};
                kefuctl_table_add (table, cells);
            }
        }
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
        printf ("\n%lld uses of %lld phrases by %lld agents\n", s_int (total, "uses"),
                s_int (total, "phrases"), s_int (total, "agents"));
    }
    json_decref (root);
    return KEFUCTL_OK;
}

//  ---------------------------------------------------------------------
//  kefuctl kpi --orders | --aftersales

static double
s_num (json_t *o, const char *path)
{
    char copy[128];
    snprintf (copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r (copy, ".", &save); k && o; k = strtok_r (NULL, ".", &save))
        o = json_object_get (o, k);
    return json_is_number (o) ? json_number_value (o) : -1;
}

//  A rate for people ("96.0%"), "-" when there is none (-1).
static const char *
s_pct (double rate, char *buf, size_t size)
{
    if (rate < 0)
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%.1f%%", rate * 100);
    return buf;
}

static const char *
s_money (double cents, char *buf, size_t size)
{
    snprintf (buf, size, "%.2f", cents / 100);
    return buf;
}

static void
s_orders_text (json_t *root, bool by_agent)
{
    json_t *t = json_object_get (root, "total");
    char a[32], b[32], c[32];
    printf ("%s  %s .. %s  (%s)\n\n", s_str (root, "shop_id"), s_str (root, "from"),
            s_str (root, "to"), s_str (root, "timezone"));
    if (!json_is_true (json_object_get (root, "source")))
        printf ("no order events from kefu-ordersync for this shop yet\n\n");
    printf ("询单转化率   %s (%.0f of %.0f inquiring customers ordered), paid %s (%.0f)\n",
            s_pct (s_num (t, "conversion.rate"), a, sizeof a),
            s_num (t, "conversion.ordered_customers"), s_num (t, "conversion.inquiring_customers"),
            s_pct (s_num (t, "conversion.paid_rate"), b, sizeof b),
            s_num (t, "conversion.paid_customers"));
    printf ("orders       %.0f placed, %.0f credited to an agent; credited sales %s in %.0f paid "
            "orders\n",
            s_num (t, "orders.created"), s_num (t, "orders.credited"),
            s_money (s_num (t, "orders.sales_cents"), c, sizeof c),
            s_num (t, "orders.sales_orders"));
    double rate = s_num (t, "timeliness.rate");
    printf ("timeliness   %s (%.0f of %.0f shipped before the cutoff), target 95%%: %s\n",
            s_pct (rate, a, sizeof a), s_num (t, "timeliness.on_time"), s_num (t, "timeliness.due"),
            rate < 0       ? "-"
            : rate >= 0.95 ? "met"
                           : "missed");
    printf ("reminders    %.0f sent by kefu, %.0f by hand\n", s_num (t, "reminders.sent"),
            s_num (t, "reminders.by_hand"));
    if (!by_agent)
        return;
    putchar ('\n');
    const char *head[] = {"agent",      "served",          "ordered",  "paid",
                          "conversion", "paid conversion", "credited", "sales"};
    kefuctl_table_t *table = kefuctl_table_new (8, head);
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get (root, "rows"), i, r)
    {
        char n[4][24], p[2][24], money[32];
        const char *keys[] = {"served_customers", "ordered_customers", "paid_customers",
                              "orders_credited"};
        for (int k = 0; k < 4; k++)
            snprintf (n[k], sizeof n[k], "%.0f", s_num (r, keys[k]));
        const char *cells[] = {s_str (r, "agent_id"),
                               n[0],
                               n[1],
                               n[2],
                               s_pct (s_num (r, "conversion_rate"), p[0], sizeof p[0]),
                               s_pct (s_num (r, "paid_conversion_rate"), p[1], sizeof p[1]),
                               n[3],
                               s_money (s_num (r, "sales_cents"), money, sizeof money)};
        kefuctl_table_add (table, cells);
    }
    kefuctl_table_print (table, stdout);
    kefuctl_table_destroy (&table);
}

static void
s_orders_csv (json_t *root)
{
    printf ("agent,served_customers,ordered_customers,paid_customers,conversion_rate,"
            "orders_credited,sales_cents,timeliness_due,timeliness_on_time,reminders_sent\n");
    json_t *t = json_object_get (root, "total");
    printf ("total,%.0f,%.0f,%.0f,", s_num (t, "conversion.inquiring_customers"),
            s_num (t, "conversion.ordered_customers"), s_num (t, "conversion.paid_customers"));
    if (s_num (t, "conversion.rate") >= 0)
        printf ("%.6g", s_num (t, "conversion.rate"));
    printf (",%.0f,%.0f,%.0f,%.0f,%.0f\n", s_num (t, "orders.credited"),
            s_num (t, "orders.sales_cents"), s_num (t, "timeliness.due"),
            s_num (t, "timeliness.on_time"), s_num (t, "reminders.sent"));
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get (root, "rows"), i, r)
    {
        kefuctl_csv_field (s_str (r, "agent_id"));
        printf (",%.0f,%.0f,%.0f,", s_num (r, "served_customers"), s_num (r, "ordered_customers"),
                s_num (r, "paid_customers"));
        if (s_num (r, "conversion_rate") >= 0)
            printf ("%.6g", s_num (r, "conversion_rate"));
        printf (",%.0f,%.0f,,,\n", s_num (r, "orders_credited"), s_num (r, "sales_cents"));
    }
}

static const char *const s_case_keys[] = {"opened",         "closed",
                                          "overdue",        "open_at_end",
                                          "carried_out",    "revisit.within_3_days",
                                          "revisit.judged", "compensation_cents"};
#define S_CASE_KEYS 8

static void
s_aftersales (json_t *root, bool csv)
{
    const char *what[] = {"complaints", "reviews"};
    if (csv)
        printf ("kind,opened,closed,overdue,open_at_end,carried_out,revisited_within_3_days,"
                "revisits_due,compensation_cents,revisit_rate\n");
    else {
        printf ("%s  %s .. %s  (%s)\n\n", s_str (root, "shop_id"), s_str (root, "from"),
                s_str (root, "to"), s_str (root, "timezone"));
        if (!json_is_true (json_object_get (root, "source")))
            printf ("no events from kefu-escalation for this shop yet\n\n");
    }
    const char *head[] = {"",
                          "opened",
                          "closed",
                          "overdue",
                          "open at end",
                          "carried out",
                          "revisit ≤ 3 days",
                          "compensation"};
    kefuctl_table_t *table = csv ? NULL : kefuctl_table_new (8, head);
    for (int w = 0; w < 2; w++) {
        json_t *c = json_object_get (root, what[w]);
        char n[S_CASE_KEYS][32], rate[24];
        for (int k = 0; k < S_CASE_KEYS; k++)
            snprintf (n[k], sizeof n[k], "%.0f", s_num (c, s_case_keys[k]));
        double r = s_num (c, "revisit.rate");
        if (csv) {
            printf ("%s", what[w]);
            for (int k = 0; k < S_CASE_KEYS; k++)
                printf (",%s", n[k]);
            if (r >= 0)
                printf (",%.6g", r);
            printf (r >= 0 ? "\n" : ",\n");
        } else {
            char revisit[128], money[32];
            snprintf (revisit, sizeof revisit, "%s (%s of %s)", s_pct (r, rate, sizeof rate), n[5],
                      n[6]);
            const char *cells[] = {
                what[w], n[0],
                n[1],    n[2],
                n[3],    n[4],
                revisit, s_money (s_num (c, "compensation_cents"), money, sizeof money)};
            kefuctl_table_add (table, cells);
        }
    }
    if (table) {
        kefuctl_table_print (table, stdout);
        kefuctl_table_destroy (&table);
    }
}

int
kefuctl_kpi_desk (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl kpi";
    s_args_t args = {0};
    json_t *root = NULL;
    int rc = s_ask (ctl, cmd, NULL, argc, argv, &args, &root);
    if (rc)
        return rc;
    if (args.json)
        s_print_json (root);
    else if (args.aftersales)
        s_aftersales (root, args.csv);
    else if (args.csv)
        s_orders_csv (root);
    else
        s_orders_text (root, strcmp (args.by, "agent") == 0);
    json_decref (root);
    return KEFUCTL_OK;
}
