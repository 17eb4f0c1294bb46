/*  kefuctl shift — a shop's shifts (白班 day, 晚班 night, ...) and the
    one-command starting point: shift defaults. */
#include "kefuctl.h"

#include "routing_store.h"

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

static int
s_defaults_change (kefuctl_change_t *c, void *arg)
{
    (void) arg;
    routing_defaults_t created;
    if (routing_store_put_defaults (c->store, c->shop_id, &created, &c->err))
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
s_shift_change (kefuctl_change_t *c, void *arg)
{
    s_shift_t *shift = arg;
    routing_shift_row_t stored;
    int done = routing_store_put_shift (c->store, c->shop_id, shift->name, shift->add, shift->start,
                                        shift->end, &stored, &c->err);
    if (done < 0)
        return kefuctl_change_failed (c);
    if (done) {
        shift->start = stored.start_minute;
        shift->end = stored.end_minute;
    } else
        shift->start = shift->end = -2; //  no row
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

static void
s_on_shift (void *arg, const routing_shift_row_t *row)
{
    json_t *array = arg;
    char a[16], b[16];
    json_array_append_new (
        array, json_pack ("{s:s, s:s, s:s, s:i, s:i, s:b, s:I, s:b}", "shift", row->name, "start",
                          kefuctl_fmt_clock (a, sizeof a, row->start_minute), "end",
                          kefuctl_fmt_clock (b, sizeof b, row->end_minute), "start_minute",
                          row->start_minute, "end_minute", row->end_minute, "crosses_midnight",
                          row->end_minute < row->start_minute, "agents", (json_int_t) row->agents,
                          "night", row->night));
}

static int
s_list_shifts (kefuctl_list_t *list, kf_error_t *err)
{
    json_t *array = json_array ();
    if (routing_store_list_shifts (list->store, list->shop_id, s_on_shift, array, err)) {
        json_decref (array);
        return -1;
    }
    size_t count = json_array_size (array);
    if (list->json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else if (count == 0)
        printf ("no shifts (kefuctl shift defaults, or kefuctl shift add)\n");
    else
        printf ("%-16s %-5s %-5s %-6s %s\n", "SHIFT", "START", "END", "AGENTS", "NOTE");
    size_t i;
    json_t *row;
    json_array_foreach (array, i, row)
    {
        if (list->json)
            break;
        bool crosses = json_is_true (json_object_get (row, "crosses_midnight"));
        bool night = json_is_true (json_object_get (row, "night"));
        printf ("%-16s %-5s %-5s %-6d %s%s%s\n", json_string_value (json_object_get (row, "shift")),
                json_string_value (json_object_get (row, "start")),
                json_string_value (json_object_get (row, "end")),
                (int) json_integer_value (json_object_get (row, "agents")),
                crosses ? "crosses midnight" : "", crosses && night ? "; " : "",
                night ? "night SLA applies" : "");
    }
    json_decref (array);
    int64_t week = kefuctl_week (list->timezone, list->now_ms);
    if (!list->json && week >= 0 && count > 0) {
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
    return 0;
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    return kefuctl_list_run (ctl, "kefuctl shift list", argc, argv, 2, s_list_shifts, NULL);
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
