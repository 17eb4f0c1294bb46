/*  kefuctl phrases usage — what the desk does, asked of kefu-metrics
    (a client of its query endpoint, like kefuctl kpi). */
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

//  argv: usage SHOP [--from D] [--to D] [--by agent|phrase] [--agent ID]
//  [--json | --csv].
int
kefuctl_phrases_usage (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl phrases usage";
    if (argc < 2 || argv[1][0] == '-') {
        fprintf (stderr, "%s: which shop? (%s SHOP, see kefuctl phrases --help)\n", cmd, cmd);
        return KEFUCTL_USAGE;
    }
    const char *shop = argv[1], *by = "";
    bool json = false, csv = false;
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
        else if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (strcmp (argv[i], "--csv") == 0)
            csv = true;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    json_t *root = NULL;
    if (rc) {
        json_decref (params);
        return rc;
    }
    if ((rc = kefuctl_metrics_ask (ctl, cmd, "phrases.usage", shop, by, &params, &root)))
        return rc;
    json_t *rows = json_object_get (root, "rows");
    bool by_agent = strcmp (by, "agent") == 0, by_phrase = strcmp (by, "phrase") == 0;
    size_t i;
    json_t *r;
    if (json) {
        char *out = json_dumps (root, JSON_INDENT (2));
        printf ("%s\n", out);
        free (out);
    } else if (csv) {
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
