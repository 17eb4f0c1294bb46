/*  kefuctl shift — a shop's shifts (白班 day, 晚班 night, ...) and the
    one-command starting point: shift defaults. */
#include "kefuctl.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl shift defaults <shop> [--by WHO]\n"
            "  kefuctl shift add <shop> <name> --start HH:MM --end HH:MM [--by WHO]\n"
            "  kefuctl shift set <shop> <name> [--start HH:MM] [--end HH:MM] [--by WHO]\n"
            "  kefuctl shift list <shop> [--json]\n\n"
            "A shift is a daily working time in the shop's own time zone (kefuctl shop add\n"
            "--timezone). Agents are routed conversations only while one of their shifts is on\n"
            "(kefuctl agent schedule); outside every shift customers get the after-hours reply,\n"
            "and at a shift change open conversations move to the next shift together with the\n"
            "handover note (交接留言, kefuctl handover).\n"
            "  defaults  sets a new shop up the usual way, and leaves alone what already exists:\n"
            "            shifts day 08:30-17:30 (白班) and night 17:30-23:00 (晚班); groups\n"
            "            presales (售前) and aftersales (售后), each overflowing to the other\n"
            "            after 2 minutes in the queue; the routing settings with their defaults\n"
            "            (kefuctl routing show). Running it again changes nothing.\n"
            "  add       a new shift. --end before --start crosses midnight (22:00 to 06:00);\n"
            "            --end 24:00 ends at midnight; 00:00 to 24:00 is all day.\n"
            "  set       changes the times of a shift.\n"
            "A shift name is 1-32 of a-z 0-9 _ . - (e.g. day, night, early). Every change is one\n"
            "transaction with a config.changed event (by --by, default $USER).\n"
            "Exit codes: 0 success, 1 failure, 2 usage, 3 the shift already exists,\n"
            "            4 the shop or shift does not exist.\n");
}

//  ---------------------------------------------------------------------------
//  shift defaults

typedef struct {
    bool shift_day, shift_night;           //  created now
    bool group_presales, group_aftersales; //  created now
    bool settings;                         //  created now
} s_created_t;

static int
s_on_shifts (const PGresult *res, void *arg)
{
    s_created_t *created = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        const char *name = kf_store_text (res, i, 0);
        if (strcmp (name, "day") == 0)
            created->shift_day = true;
        else if (strcmp (name, "night") == 0)
            created->shift_night = true;
    }
    return 0;
}

static int
s_on_groups (const PGresult *res, void *arg)
{
    s_created_t *created = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        const char *name = kf_store_text (res, i, 0);
        if (strcmp (name, "presales") == 0)
            created->group_presales = true;
        else if (strcmp (name, "aftersales") == 0)
            created->group_aftersales = true;
    }
    return 0;
}

static int
s_on_settings (const PGresult *res, void *arg)
{
    ((s_created_t *) arg)->settings = PQntuples (res) > 0;
    return 0;
}

static int
s_defaults_change (kefuctl_change_t *c, void *arg)
{
    (void) arg;
    s_created_t created = {false, false, false, false, false};
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, c->shop_id);
    //  The values below are kefu's defaults, not input: literals are fine.
    if (kf_store_exec_sql (c->store,
                           "INSERT INTO shifts (shop_id, shift_name, start_minute, end_minute) "
                           "VALUES ($1::text, 'day', 510, 1050), ($1::text, 'night', 1050, 1380) "
                           "ON CONFLICT DO NOTHING RETURNING shift_name",
                           &params, s_on_shifts, &created, &c->err) ||
        kf_store_exec_sql (c->store,
                           "INSERT INTO routing_groups"
                           " (shop_id, group_name, display_name, overflow_to, overflow_after_ms) "
                           "VALUES ($1::text, 'presales', '售前', 'aftersales', 120000),"
                           " ($1::text, 'aftersales', '售后', 'presales', 120000) "
                           "ON CONFLICT DO NOTHING RETURNING group_name",
                           &params, s_on_groups, &created, &c->err) ||
        kf_store_exec_sql (c->store,
                           "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                           "ON CONFLICT DO NOTHING RETURNING 1",
                           &params, s_on_settings, &created, &c->err))
        return kefuctl_change_failed (c);
    FILE *out = c->out;
    fprintf (out, "shop %s:\n", c->shop_id);
    fprintf (out, "  %s shift day 08:30-17:30 (白班)\n",
             created.shift_day ? "created" : "kept existing");
    fprintf (out, "  %s shift night 17:30-23:00 (晚班)\n",
             created.shift_night ? "created" : "kept existing");
    fprintf (out, "  %s group presales (售前), overflow to aftersales after 2m\n",
             created.group_presales ? "created" : "kept existing");
    fprintf (out, "  %s group aftersales (售后), overflow to presales after 2m\n",
             created.group_aftersales ? "created" : "kept existing");
    fprintf (out, "  %s routing settings (kefuctl routing show %s)\n",
             created.settings ? "created default" : "kept existing", c->shop_id);
    if (!(created.shift_day || created.shift_night || created.group_presales ||
          created.group_aftersales || created.settings)) {
        fprintf (out, "nothing to do: the defaults were already in place\n");
        return KEFUCTL_OK; //  no change, no event
    }
    fprintf (out,
             "next: kefuctl agent add %s <agent_id> --name NAME --groups presales "
             "--shift day\n",
             c->shop_id);
    return kefuctl_change_config (c, "all");
}

//  ---------------------------------------------------------------------------
//  shift add / set

typedef struct {
    bool add;         //  add (else set)
    const char *name; //  shift name
    int start, end;   //  minutes; -1: unchanged (set)
} s_shift_t;

static int
s_on_times (const PGresult *res, void *arg)
{
    s_shift_t *shift = arg;
    if (PQntuples (res) == 1) {
        shift->start = (int) kf_store_int (res, 0, 0);
        shift->end = (int) kf_store_int (res, 0, 1);
    } else
        shift->start = shift->end = -2; //  no row
    return 0;
}

static int
s_shift_change (kefuctl_change_t *c, void *arg)
{
    s_shift_t *shift = arg;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, c->shop_id);
    kf_params_str (&params, shift->name);
    if (shift->start >= 0)
        kf_params_int (&params, shift->start);
    else
        kf_params_null (&params);
    if (shift->end >= 0)
        kf_params_int (&params, shift->end);
    else
        kf_params_null (&params);
    if (kf_store_exec_sql (c->store,
                           shift->add
                               ? "INSERT INTO shifts (shop_id, shift_name, start_minute, "
                                 "end_minute) VALUES ($1::text, $2::text, $3::int4, $4::int4) "
                                 "ON CONFLICT DO NOTHING RETURNING start_minute, end_minute"
                               : "UPDATE shifts SET"
                                 " start_minute = coalesce ($3::int4, start_minute),"
                                 " end_minute = coalesce ($4::int4, end_minute) "
                                 "WHERE shop_id = $1::text AND shift_name = $2::text "
                                 "RETURNING start_minute, end_minute",
                           &params, s_on_times, shift, &c->err))
        return kefuctl_change_failed (c);
    if (shift->start == -2) {
        if (shift->add) {
            fprintf (stderr,
                     "%s: shop %s already has a shift %s (change it with kefuctl shift "
                     "set)\n",
                     c->cmd, c->shop_id, shift->name);
            return KEFUCTL_EXISTS;
        }
        fprintf (stderr, "%s: shop %s has no shift %s (kefuctl shift list %s)\n", c->cmd,
                 c->shop_id, shift->name, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    if (shift->start == shift->end) {
        fprintf (stderr,
                 "%s: shift %s would start and end at the same time (use 00:00 to 24:00 "
                 "for all day)\n",
                 c->cmd, shift->name);
        return KEFUCTL_USAGE;
    }
    char a[16], b[16];
    fprintf (c->out, "shift %s %s in shop %s: %s-%s%s\n", shift->name,
             shift->add ? "added" : "changed", c->shop_id,
             kefuctl_fmt_clock (a, sizeof a, shift->start),
             kefuctl_fmt_clock (b, sizeof b, shift->end),
             shift->end < shift->start ? " (crosses midnight)" : "");
    return kefuctl_change_config (c, "shifts");
}

static int
s_add_or_set (kefuctl_t *ctl, int argc, char **argv, bool add)
{
    const char *cmd = add ? "kefuctl shift add" : "kefuctl shift set";
    const char *shop_id = NULL, *start = NULL, *end = NULL, *by = NULL, *v;
    s_shift_t shift = {add, NULL, -1, -1};
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--start")))
            start = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--end")))
            end = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !shift.name)
            shift.name = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !shift.name || (add && (!start || !end)) || (!add && !start && !end)) {
        fprintf (stderr, "%s: needs <shop> <name> and %s\n", cmd,
                 add ? "--start HH:MM --end HH:MM" : "--start HH:MM and/or --end HH:MM");
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) || kefuctl_check_name (cmd, "shift", shift.name) ||
        (start && kefuctl_parse_clock (cmd, "--start", start, false, &shift.start)) ||
        (end && kefuctl_parse_clock (cmd, "--end", end, true, &shift.end)))
        return KEFUCTL_USAGE;
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_shift_change, &shift);
}

//  ---------------------------------------------------------------------------
//  shift list

static int
s_on_list (const PGresult *res, void *arg)
{
    const kefuctl_list_t *list = arg;
    bool json = list->json;
    json_t *array = json_array ();
    if (!json && PQntuples (res) == 0)
        printf ("no shifts (kefuctl shift defaults, or kefuctl shift add)\n");
    else if (!json)
        printf ("%-16s %-5s %-5s %-6s %s\n", "SHIFT", "START", "END", "AGENTS", "NOTE");
    for (int i = 0; i < PQntuples (res); i++) {
        const char *name = kf_store_text (res, i, 0);
        int start = (int) kf_store_int (res, i, 1), end = (int) kf_store_int (res, i, 2);
        bool night = strcmp (kf_store_text (res, i, 4), "t") == 0;
        char a[16], b[16];
        kefuctl_fmt_clock (a, sizeof a, start);
        kefuctl_fmt_clock (b, sizeof b, end);
        if (json)
            json_array_append_new (
                array, json_pack ("{s:s, s:s, s:s, s:i, s:i, s:b, s:I, s:b}", "shift", name,
                                  "start", a, "end", b, "start_minute", start, "end_minute", end,
                                  "crosses_midnight", end < start, "agents",
                                  (json_int_t) kf_store_int (res, i, 3), "night", night));
        else
            printf ("%-16s %-5s %-5s %-6d %s%s%s\n", name, a, b, (int) kf_store_int (res, i, 3),
                    end < start ? "crosses midnight" : "", end < start && night ? "; " : "",
                    night ? "night SLA applies" : "");
    }
    int64_t week = kefuctl_week (list->timezone, list->now_ms);
    if (!json && week >= 0 && PQntuples (res) > 0) {
        //  What --rotation N:K means now: weeks run Monday to Sunday.
        time_t monday = (time_t) (week * 7 - 3) * 86400;
        struct tm tm;
        char from[16] = "";
        if (gmtime_r (&monday, &tm))
            strftime (from, sizeof from, "%Y-%m-%d", &tm);
        printf ("this week (from Monday %s, %s) is week %d of a 2-week rotation, %d of 3, "
                "%d of 4 (kefuctl agent schedule --rotation N:K)\n",
                from, list->timezone, (int) (week % 2), (int) (week % 3), (int) (week % 4));
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    json_decref (array);
    return 0;
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl shift list";
    return kefuctl_list_by_shop (
        ctl, cmd, argc, argv, 2,
        "SELECT s.shift_name, s.start_minute, s.end_minute,"
        " (SELECT count (DISTINCT a.agent_id) FROM agent_schedule a"
        "  WHERE a.shop_id = s.shop_id AND a.shift_name = s.shift_name),"
        " s.shift_name = coalesce ((SELECT r.night_shift FROM routing_settings r"
        "  WHERE r.shop_id = s.shop_id), 'night') "
        "FROM shifts s WHERE s.shop_id = $1::text ORDER BY s.start_minute, s.shift_name",
        s_on_list);
}

static int
s_defaults (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl shift defaults";
    const char *shop_id, *by;
    int rc = kefuctl_shop_args (cmd, argc, argv, 2, &shop_id, NULL, &by);
    return rc ? rc : kefuctl_change_run (ctl, cmd, shop_id, by, s_defaults_change, NULL);
}

int
kefuctl_shift (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "defaults") == 0)
        return s_defaults (ctl, argc, argv);
    if (strcmp (verb, "add") == 0)
        return s_add_or_set (ctl, argc, argv, true);
    if (strcmp (verb, "set") == 0)
        return s_add_or_set (ctl, argc, argv, false);
    if (strcmp (verb, "list") == 0)
        return s_list (ctl, argc, argv);
    fprintf (stderr, "kefuctl shift: unknown verb \"%s\" (defaults, add, set, list)\n", verb);
    return KEFUCTL_USAGE;
}
