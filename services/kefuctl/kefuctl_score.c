/*  kefuctl score set, kefuctl metrics settings — what a supervisor gives
    the scorecards: the items kefu has no data for, and the shop's scheme.

    Both write kefu-metrics' tables through metrics_store (its SQL), which
    kefu-metrics reads when a scorecard is asked for. */
#include "kefuctl.h"

#include "metrics_att_store.h"
#include "metrics_store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A number in [min, max] (decimals allowed), or print why not and return 2.
static int
s_parse_number (const char *cmd, const char *opt, const char *text, double min, double max,
                double *out)
{
    char *end = NULL;
    double v = strtod (text, &end);
    if (!*text || *end || isnan (v) || v < min || v > max) {
        fprintf (stderr, "%s: %s must be a number from %g to %g, not \"%s\"\n", cmd, opt, min, max,
                 text);
        return KEFUCTL_USAGE;
    }
    *out = v;
    return 0;
}

//  ---------------------------------------------------------------------
//  kefuctl score set

static void
s_score_help (void)
{
    printf ("Usage: kefuctl score set SHOP AGENT --month YYYY-MM [--service-check N]\n"
            "                         [--key-promotion N] [--by NAME]\n\n"
            "Enter the scorecard items kefu has no data for, for an agent's month: the service\n"
            "check (服务抽检) and the key promotion result (重点推广), each N percent (0-100) of\n"
            "the item's weight in the shop's scheme. An item not given keeps what was entered\n"
            "before; entering again replaces it. kefuctl scorecard shows the result.\n"
            "Exit codes: 0 entered, 1 failure, 2 bad usage, 4 no such shop.\n");
}

typedef struct {
    const char *month; //  "2026-11"
    const char *agent; //  the agent
    double values[2];  //  service check, key promotion
    bool given[2];     //  ... entered
} s_score_t;

static int
s_score_change (kefuctl_change_t *change, void *arg)
{
    s_score_t *s = arg;
    metrics_store_register (change->store);
    if (metrics_store_enter_score (change->store, change->shop_id, s->month, s->agent,
                                   s->given[0] ? &s->values[0] : NULL,
                                   s->given[1] ? &s->values[1] : NULL, change->by, &change->err))
        return kefuctl_change_failed (change);
    fprintf (change->out, "%s: %s of %s:", change->shop_id, s->month, s->agent);
    if (s->given[0])
        fprintf (change->out, " service check %g%%", s->values[0]);
    if (s->given[1])
        fprintf (change->out, " key promotion %g%%", s->values[1]);
    fprintf (change->out, "\n");
    return KEFUCTL_OK;
}

int
kefuctl_score (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl score set";
    if (kefuctl_wants_help (argc, argv)) {
        s_score_help ();
        return KEFUCTL_OK;
    }
    if (argc < 4 || strcmp (argv[1], "set") != 0 || argv[2][0] == '-' || argv[3][0] == '-') {
        fprintf (stderr,
                 "%s: usage: kefuctl score set SHOP AGENT --month YYYY-MM ... (see "
                 "--help)\n",
                 cmd);
        return KEFUCTL_USAGE;
    }
    s_score_t s = {NULL, argv[3], {0, 0}, {false, false}};
    const char *shop = argv[2], *by = NULL;
    int rc = kefuctl_check_shop (cmd, shop);
    if (!rc)
        rc = kefuctl_check_agent_id (cmd, s.agent);
    for (int i = 4; i < argc && !rc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--month")))
            s.month = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--service-check"))) {
            rc = s_parse_number (cmd, "--service-check", v, 0, 100, &s.values[0]);
            s.given[0] = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--key-promotion"))) {
            rc = s_parse_number (cmd, "--key-promotion", v, 0, 100, &s.values[1]);
            s.given[1] = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (rc)
        return rc;
    int y = 0, m = 0;
    char tail = 0;
    if (!s.month || strlen (s.month) != 7 || sscanf (s.month, "%4d-%2d%c", &y, &m, &tail) != 2 ||
        y < 2000 || m < 1 || m > 12) {
        fprintf (stderr, "%s: --month YYYY-MM is required (e.g. --month 2026-11)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (!s.given[0] && !s.given[1]) {
        fprintf (stderr, "%s: nothing to enter (--service-check N, --key-promotion N)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (!(by = kefuctl_by (cmd, by)))
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_score_change, &s);
}

//  ---------------------------------------------------------------------
//  kefuctl metrics settings

static void
s_settings_help (void)
{
    printf ("Usage: kefuctl metrics settings SHOP [--weight-sales N] [--weight-key-promotion N]\n"
            "         [--weight-service-check N] [--weight-complaints N]\n"
            "         [--weight-customer-records N] [--conversion-coefficient X]\n"
            "         [--deduct-valid N] [--deduct-wrong-explanation N] [--deduct-unverifiable N]\n"
            "         [--late-grace MIN] [--early-grace MIN] [--by NAME] [--json]\n\n"
            "The shop's scorecard scheme: each item's weight in points (default sales 45, key\n"
            "promotion 25, service check 15, complaints 5, customer records 5), the conversion\n"
            "coefficient the sales item is multiplied by (default 1), and the points a complaint\n"
            "finding against an agent costs (valid service complaint 10, wrong explanation 6,\n"
            "unverifiable 3). Without options: print the scheme; with: change what is given\n"
            "(weights and deductions 0-100, the coefficient 0-10) and print the result.\n"
            "Attendance (kefuctl attendance): the minutes after a shift's start that are not\n"
            "yet late (--late-grace, default 5) and before its end that are not yet an early\n"
            "leave (--early-grace, default 5), whole minutes 0-240.\n"
            "Exit codes: 0 success, 1 failure, 2 bad usage, 4 no such shop.\n");
}

static const struct {
    const char *opt;  //  option
    const char *name; //  JSON and text
    double max;       //  highest value
} s_fields[] = {
    {"--weight-sales", "weight_sales", 100},
    {"--weight-key-promotion", "weight_key_promotion", 100},
    {"--weight-service-check", "weight_service_check", 100},
    {"--weight-complaints", "weight_complaints", 100},
    {"--weight-customer-records", "weight_customer_records", 100},
    {"--conversion-coefficient", "conversion_coefficient", 10},
    {"--deduct-valid", "deduct_valid", 100},
    {"--deduct-wrong-explanation", "deduct_wrong_explanation", 100},
    {"--deduct-unverifiable", "deduct_unverifiable", 100},
};
#define S_FIELDS (int) (sizeof s_fields / sizeof s_fields[0])

//  Attendance's grace minutes, after the scheme's fields.
static const char *const s_grace_opts[] = {"--late-grace", "--early-grace"};
static const char *const s_grace_names[] = {"late_grace_min", "early_grace_min"};

//  The scheme's values in the order of s_fields.
static double *
s_field (metrics_scheme_t *scheme, int f)
{
    return f < METRICS_ITEMS    ? &scheme->weight[f]
           : f == METRICS_ITEMS ? &scheme->coefficient
                                : &scheme->deduct[f - METRICS_ITEMS - 1];
}

typedef struct {
    double values[S_FIELDS]; //  given
    bool given[S_FIELDS];    //  ... which
    int grace[2];            //  given grace minutes
    bool grace_given[2];     //  ... which
    bool json;               //  --json
    bool change;             //  anything of the scheme given
} s_settings_t;

static void
s_print_scheme (FILE *out, const char *shop_id, metrics_scheme_t *scheme,
                const metrics_att_settings_t *att, bool json)
{
    int grace[2] = {att->late_grace_min, att->early_grace_min};
    if (json) {
        json_t *o = json_pack ("{s:s}", "shop_id", shop_id);
        for (int f = 0; f < S_FIELDS; f++)
            json_object_set_new (o, s_fields[f].name, json_real (*s_field (scheme, f)));
        for (int g = 0; g < 2; g++)
            json_object_set_new (o, s_grace_names[g], json_integer (grace[g]));
        char *text = json_dumps (o, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
        fprintf (out, "%s\n", text);
        free (text);
        json_decref (o);
        return;
    }
    for (int f = 0; f < S_FIELDS; f++)
        fprintf (out, "%-26s %g\n", s_fields[f].name, *s_field (scheme, f));
    for (int g = 0; g < 2; g++)
        fprintf (out, "%-26s %d\n", s_grace_names[g], grace[g]);
}

static int
s_settings_change (kefuctl_change_t *change, void *arg)
{
    s_settings_t *s = arg;
    metrics_scheme_t scheme;
    metrics_store_register (change->store);
    if (metrics_store_scheme (change->store, change->shop_id, &scheme, NULL, &change->err))
        return kefuctl_change_failed (change);
    for (int f = 0; f < S_FIELDS; f++)
        if (s->given[f])
            *s_field (&scheme, f) = s->values[f];
    if (s->change && metrics_store_set_scheme (change->store, change->shop_id, &scheme, change->by,
                                               &change->err))
        return kefuctl_change_failed (change);
    metrics_att_settings_t att;
    if (metrics_att_store_settings (change->store, change->shop_id, &att, &change->err))
        return kefuctl_change_failed (change);
    if (s->grace_given[0] || s->grace_given[1]) {
        if (s->grace_given[0])
            att.late_grace_min = s->grace[0];
        if (s->grace_given[1])
            att.early_grace_min = s->grace[1];
        if (metrics_att_store_set_settings (change->store, change->shop_id, &att, change->by,
                                            &change->err))
            return kefuctl_change_failed (change);
    }
    s_print_scheme (change->out, change->shop_id, &scheme, &att, s->json);
    return KEFUCTL_OK;
}

int
kefuctl_metrics (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl metrics settings";
    if (kefuctl_wants_help (argc, argv)) {
        s_settings_help ();
        return KEFUCTL_OK;
    }
    if (argc < 3 || strcmp (argv[1], "settings") != 0 || argv[2][0] == '-') {
        fprintf (stderr, "%s: usage: kefuctl metrics settings SHOP [options] (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    const char *shop = argv[2], *by = NULL;
    s_settings_t s = {{0}, {false}, {0, 0}, {false, false}, false, false};
    int rc = kefuctl_check_shop (cmd, shop);
    for (int i = 3; i < argc && !rc; i++) {
        const char *v = NULL;
        int f = 0;
        for (; f < S_FIELDS && !v; f++)
            v = kefuctl_opt (argc, argv, &i, s_fields[f].opt);
        if (v) {
            f--;
            rc = s_parse_number (cmd, s_fields[f].opt, v, 0, s_fields[f].max, &s.values[f]);
            s.given[f] = s.change = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, s_grace_opts[0])) ||
                   (v = kefuctl_opt (argc, argv, &i, s_grace_opts[1]))) {
            int g = strcmp (argv[i - 1], s_grace_opts[0]) == 0 ? 0 : 1;
            double minutes = 0;
            rc = s_parse_number (cmd, s_grace_opts[g], v, 0, METRICS_ATT_GRACE_MAX, &minutes);
            if (!rc && minutes != floor (minutes)) {
                fprintf (stderr, "%s: %s must be whole minutes, not \"%s\"\n", cmd, s_grace_opts[g],
                         v);
                rc = KEFUCTL_USAGE;
            }
            s.grace[g] = (int) minutes;
            s.grace_given[g] = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (strcmp (argv[i], "--json") == 0)
            s.json = true;
        else
            rc = kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (rc)
        return rc;
    if (!(by = kefuctl_by (cmd, by)))
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_settings_change, &s);
}
