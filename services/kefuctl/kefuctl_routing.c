/*  kefuctl routing — a shop's routing settings (auto-replies, 首问责任制
    stickiness, response SLA, overflow order, intent -> group) and the
    pruning of routing's audit trail. */
#include "kefuctl.h"

#include "routing_store.h"

#include "kf_tz.h"
#include "kf_valid.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REPLY_MAX   1024  //  auto-reply texts, bytes
#define S_PRUNE_CHUNK 10000 //  rows per prune statement (one short transaction each)

static void
s_help (void)
{
    printf (
        "Usage:\n"
        "  kefuctl routing show <shop> [--json]\n"
        "  kefuctl routing set <shop> [--busy-reply TEXT] [--after-hours-reply TEXT]\n"
        "                      [--sticky-days N] [--sla-day DURATION] [--sla-night DURATION]\n"
        "                      [--night-shift NAME] [--sla-reassign on|off]\n"
        "                      [--overflow-order G1,G2] [--intent-group INTENT=GROUP]...\n"
        "                      [--by WHO]\n"
        "  kefuctl routing prune [--keep DURATION] [--dry-run]\n\n"
        "How kefu hands a shop's conversations to its agents (分流):\n"
        "  --busy-reply         the auto-reply a customer gets when every agent is full and the\n"
        "                       conversation waits in the queue (排队自动回复).\n"
        "  --after-hours-reply  the auto-reply outside all shifts (下班自动回复).\n"
        "  --sticky-days N      first-contact responsibility (首问责任制): a customer who comes\n"
        "                       back within N days (0-90, default 3) goes to the agent who served\n"
        "                       them last, while that agent is on shift. 0 turns it off.\n"
        "  --sla-day, --sla-night  how long a customer may wait for an answer (default 30s by\n"
        "                       day, 1m at night) before the conversation counts as late; the\n"
        "                       night value applies during --night-shift (default night).\n"
        "  --sla-reassign on    a late conversation is given to another agent with room.\n"
        "  --overflow-order     a chain for groups without their own overflow (kefuctl group\n"
        "                       set --overflow-to): a queue that waits too long moves to the\n"
        "                       next group in this list (empty: off).\n"
        "  --intent-group INTENT=GROUP  which group (queue) serves an intent (问题分类); repeat\n"
        "                       the option for several; GROUP \"default\" restores the default.\n"
        "                       INTENT: presales bargaining delivery_time other (default 售前\n"
        "                       presales); urge_shipping logistics return_refund complaint\n"
        "                       negative_review (default 售后 aftersales).\n"
        "Durations take a unit: 500ms, 30s, 2m, 1h. Texts are UTF-8, at most %d bytes.\n"
        "Groups and shifts named here must exist (kefuctl group add, kefuctl shift add, or\n"
        "kefuctl shift defaults for the usual 售前/售后 groups and day/night shifts).\n"
        "Every change is one transaction with a config.changed event (by --by, default\n"
        "$USER) on the admin stream: the routing service reloads the shop from it.\n"
        "prune: routing's history, every shop, older than --keep (default 180d): the\n"
        "  assignment audit trail (assignments) of conversations no longer open, and who\n"
        "  served whom (customer_agents) beyond the shop's --sticky-days too; --dry-run\n"
        "  only counts. Open conversations keep their whole trail. Runs in batches of\n"
        "  %d rows beside a running routing service (the compose prune service runs it\n"
        "  daily with KEFU_ROUTING_KEEP).\n"
        "Exit codes: 0 success, 1 failure, 2 usage (also: unknown group or shift),\n"
        "            4 the shop does not exist.\n",
        S_REPLY_MAX, S_PRUNE_CHUNK);
}

//  ---------------------------------------------------------------------------
//  Intents (common.proto Intent) and their default groups (0005_routing.sql)

typedef struct {
    const char *name;     //  on the command line
    int value;            //  Intent enum value
    const char *fallback; //  group when intent_groups has no row
    const char *label;    //  what a supervisor calls it
} s_intent_t;

static const s_intent_t s_intents[] = {{"presales", 2, "presales", "售前咨询"},
                                       {"bargaining", 3, "presales", "议价"},
                                       {"urge_shipping", 4, "aftersales", "催发货"},
                                       {"delivery_time", 5, "presales", "到货时间"},
                                       {"logistics", 6, "aftersales", "查物流"},
                                       {"return_refund", 7, "aftersales", "退换货/退款"},
                                       {"complaint", 8, "aftersales", "投诉"},
                                       {"negative_review", 9, "aftersales", "中差评"},
                                       {"other", 1, "presales", "其他"}};
#define S_INTENTS ((int) (sizeof s_intents / sizeof s_intents[0]))

static const s_intent_t *
s_intent_by_name (const char *name, size_t len)
{
    char word[32];
    if (len == 0 || len >= sizeof word)
        return NULL;
    for (size_t i = 0; i < len; i++)
        word[i] = name[i] == '-' ? '_' : (char) tolower ((unsigned char) name[i]);
    word[len] = 0;
    for (int i = 0; i < S_INTENTS; i++)
        if (strcmp (word, s_intents[i].name) == 0)
            return &s_intents[i];
    return NULL;
}

//  ---------------------------------------------------------------------------
//  routing show

typedef struct {
    bool stored;      //  the shop has a routing_settings row
    json_t *settings; //  filled by s_on_settings
    json_t *intents;  //  intent -> group overrides (object)
    json_t *groups;   //  groups of the shop (array)
    json_t *shifts;   //  shifts of the shop (array)
} s_show_t;

static void
s_on_settings (void *arg, const routing_settings_row_t *row)
{
    s_show_t *show = arg;
    json_t *order = json_array ();
    if (*row->overflow_order) {
        char *copy = strdup (row->overflow_order), *save = NULL;
        for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
            json_array_append_new (order, json_string (tok));
        free (copy);
    }
    show->settings = json_pack (
        "{s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:o, s:b}", "busy_reply", row->busy_reply,
        "after_hours_reply", row->after_hours_reply, "sticky_days", (json_int_t) row->sticky_days,
        "sla_day_ms", (json_int_t) row->sla_day_ms, "sla_night_ms", (json_int_t) row->sla_night_ms,
        "night_shift", row->night_shift, "sla_reassign", row->sla_reassign, "overflow_order", order,
        "night_shift_exists", row->night_shift_exists);
}

static void
s_on_intent (void *arg, int intent, const char *group)
{
    s_show_t *show = arg;
    char key[16];
    snprintf (key, sizeof key, "%d", intent);
    json_object_set_new (show->intents, key, json_string (group));
}

static void
s_on_group (void *arg, const routing_group_row_t *g)
{
    s_show_t *show = arg;
    json_array_append_new (
        show->groups, json_pack ("{s:s, s:s, s:s?, s:I}", "group", g->name, "display_name",
                                 g->display, "overflow_to", *g->overflow_to ? g->overflow_to : NULL,
                                 "overflow_after_ms", (json_int_t) g->overflow_after_ms));
}

static void
s_on_shift (void *arg, const routing_shift_row_t *row)
{
    s_show_t *show = arg;
    char start[16], end[16];
    json_array_append_new (show->shifts,
                           json_pack ("{s:s, s:s, s:s}", "shift", row->name, "start",
                                      kefuctl_fmt_clock (start, sizeof start, row->start_minute),
                                      "end", kefuctl_fmt_clock (end, sizeof end, row->end_minute)));
}

static bool
s_group_known (const json_t *groups, const char *name)
{
    size_t i;
    json_t *g;
    json_array_foreach (groups, i, g)
    {
        if (strcmp (json_string_value (json_object_get (g, "group")), name) == 0)
            return true;
    }
    return false;
}

static void
s_print_show (const char *shop_id, const s_show_t *show)
{
    const json_t *s = show->settings;
    char a[32], b[32];
    printf ("routing of shop %s%s\n", shop_id,
            show->stored ? "" : " (defaults: no settings stored yet)");
    printf ("  busy reply (排队自动回复):       %s\n",
            json_string_value (json_object_get (s, "busy_reply")));
    printf ("  after-hours reply (下班自动回复): %s\n",
            json_string_value (json_object_get (s, "after_hours_reply")));
    json_int_t sticky = json_integer_value (json_object_get (s, "sticky_days"));
    if (sticky)
        printf ("  首问责任制 stickiness:            %" JSON_INTEGER_FORMAT " days\n", sticky);
    else
        printf ("  首问责任制 stickiness:            off\n");
    const char *night = json_string_value (json_object_get (s, "night_shift"));
    printf (
        "  response SLA:                     %s by day, %s during shift %s%s\n",
        kefuctl_fmt_duration (a, sizeof a, json_integer_value (json_object_get (s, "sla_day_ms"))),
        kefuctl_fmt_duration (b, sizeof b,
                              json_integer_value (json_object_get (s, "sla_night_ms"))),
        night, json_is_true (json_object_get (s, "night_shift_exists")) ? "" : " (no such shift!)");
    printf ("  reassign when SLA is missed:      %s\n",
            json_is_true (json_object_get (s, "sla_reassign")) ? "on" : "off");
    printf ("  overflow order:                   ");
    const json_t *order = json_object_get (s, "overflow_order");
    size_t i;
    json_t *v;
    if (json_array_size (order) == 0)
        printf ("(none)");
    json_array_foreach (order, i, v)
    {
        printf ("%s%s", i ? ", " : "", json_string_value (v));
    }
    printf ("\n  intent (问题分类) -> group:\n");
    for (int k = 0; k < S_INTENTS; k++) {
        char key[16];
        snprintf (key, sizeof key, "%d", s_intents[k].value);
        const char *group = json_string_value (json_object_get (show->intents, key));
        const char *shown = group ? group : s_intents[k].fallback;
        printf ("    %-16s -> %-12s %-9s %s%s\n", s_intents[k].name, shown,
                group ? "" : "(default)", s_intents[k].label,
                s_group_known (show->groups, shown) ? "" : "  (no such group!)");
    }
    printf ("  groups:");
    if (json_array_size (show->groups) == 0)
        printf (" none (kefuctl shift defaults, kefuctl group add)");
    printf ("\n");
    json_array_foreach (show->groups, i, v)
    {
        const char *to = json_string_value (json_object_get (v, "overflow_to"));
        if (to)
            printf ("    %-16s overflow to %s after %s  %s\n",
                    json_string_value (json_object_get (v, "group")), to,
                    kefuctl_fmt_duration (
                        a, sizeof a, json_integer_value (json_object_get (v, "overflow_after_ms"))),
                    json_string_value (json_object_get (v, "display_name")));
        else
            printf ("    %-16s no overflow  %s\n", json_string_value (json_object_get (v, "group")),
                    json_string_value (json_object_get (v, "display_name")));
    }
    printf ("  shifts:");
    if (json_array_size (show->shifts) == 0)
        printf (" none (kefuctl shift defaults, kefuctl shift add)");
    json_array_foreach (show->shifts, i, v)
    {
        printf (" %s %s-%s", json_string_value (json_object_get (v, "shift")),
                json_string_value (json_object_get (v, "start")),
                json_string_value (json_object_get (v, "end")));
    }
    printf ("\n");
}

static int
s_show (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing show";
    const char *shop_id;
    bool json;
    int rc = kefuctl_shop_args (cmd, argc, argv, 2, &shop_id, &json, NULL);
    if (rc)
        return rc;
    kf_store_t *store = NULL;
    rc = kefuctl_shop_open (ctl, cmd, shop_id, &store);
    if (rc)
        return rc;
    s_show_t show = {false, NULL, json_object (), json_array (), json_array ()};
    kf_error_t err;
    kf_error_clear (&err);
    if (routing_store_read_settings (store, shop_id, s_on_settings, &show, &show.stored, &err) ||
        !show.settings ||
        routing_store_list_intent_groups (store, shop_id, s_on_intent, &show, &err) ||
        routing_store_list_groups (store, shop_id, s_on_group, &show, &err) ||
        routing_store_list_shifts (store, shop_id, s_on_shift, &show, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason[0] ? err.reason : "no settings");
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    if (rc == KEFUCTL_OK && json) {
        json_t *intents = json_object ();
        for (int k = 0; k < S_INTENTS; k++) {
            char key[16];
            snprintf (key, sizeof key, "%d", s_intents[k].value);
            const char *group = json_string_value (json_object_get (show.intents, key));
            json_object_set_new (intents, s_intents[k].name,
                                 json_pack ("{s:i, s:s, s:b}", "intent", s_intents[k].value,
                                            "group", group ? group : s_intents[k].fallback,
                                            "default", group == NULL));
        }
        json_t *out = json_deep_copy (show.settings);
        json_object_set_new (out, "shop_id", json_string (shop_id));
        json_object_set_new (out, "stored", json_boolean (show.stored));
        json_object_set_new (out, "intent_groups", intents);
        json_object_set (out, "groups", show.groups);
        json_object_set (out, "shifts", show.shifts);
        char *text = json_dumps (out, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
        json_decref (out);
    } else if (rc == KEFUCTL_OK)
        s_print_show (shop_id, &show);
    json_decref (show.settings);
    json_decref (show.intents);
    json_decref (show.groups);
    json_decref (show.shifts);
    return rc;
}

//  ---------------------------------------------------------------------------
//  routing set

#define S_MAX_INTENT_ARGS 16

typedef struct {
    const char *busy_reply;                      //  NULL: unchanged
    const char *after_hours_reply;               //  NULL: unchanged
    int64_t sticky_days;                         //  -1: unchanged
    int64_t sla_day_ms;                          //  -1: unchanged
    int64_t sla_night_ms;                        //  -1: unchanged
    const char *night_shift;                     //  NULL: unchanged
    int sla_reassign;                            //  -1 unchanged, 0 off, 1 on
    const char *overflow_order;                  //  NULL: unchanged; "" clears
    kefuctl_names_t order;                       //  parsed overflow_order
    int intent_count;                            //  --intent-group options
    const s_intent_t *intent[S_MAX_INTENT_ARGS]; //  which intent
    char group[S_MAX_INTENT_ARGS][33];           //  to which group ("" = default)
} s_set_t;

static int
s_set_change (kefuctl_change_t *c, void *arg)
{
    s_set_t *set = arg;
    kefuctl_names_t names;
    if (set->night_shift) {
        int rc = kefuctl_parse_names (c->cmd, "shift", set->night_shift, false, &names);
        if (rc || (rc = kefuctl_require (c, "shift", &names)))
            return rc;
    }
    int rc = kefuctl_require (c, "group", &set->order);
    if (rc)
        return rc;
    memset (&names, 0, sizeof names);
    for (int i = 0; i < set->intent_count; i++)
        if (*set->group[i]) {
            size_t used = strlen (names.csv);
            snprintf (names.csv + used, sizeof names.csv - used, "%s%s", names.count ? "," : "",
                      set->group[i]);
            names.count++;
        }
    if ((rc = kefuctl_require (c, "group", &names)))
        return rc;
    routing_settings_change_t change = {
        set->busy_reply,   set->after_hours_reply,
        set->sticky_days,  set->sla_day_ms,
        set->sla_night_ms, set->night_shift,
        set->sla_reassign, set->overflow_order ? set->order.csv : NULL};
    if (routing_store_put_settings (c->store, c->shop_id, &change, &c->err))
        return kefuctl_change_failed (c);
    for (int i = 0; i < set->intent_count; i++)
        if (routing_store_put_intent_group (c->store, c->shop_id, set->intent[i]->value,
                                            set->group[i], &c->err))
            return kefuctl_change_failed (c);
    char a[32];
    fprintf (c->out, "routing settings of shop %s updated:\n", c->shop_id);
    if (set->busy_reply)
        fprintf (c->out, "  busy reply: %s\n", set->busy_reply);
    if (set->after_hours_reply)
        fprintf (c->out, "  after-hours reply: %s\n", set->after_hours_reply);
    if (set->sticky_days >= 0)
        fprintf (c->out, "  首问责任制 stickiness: %" PRId64 " days%s\n", set->sticky_days,
                 set->sticky_days ? "" : " (off)");
    if (set->sla_day_ms >= 0)
        fprintf (c->out, "  SLA by day: %s\n", kefuctl_fmt_duration (a, sizeof a, set->sla_day_ms));
    if (set->sla_night_ms >= 0)
        fprintf (c->out, "  SLA at night: %s\n",
                 kefuctl_fmt_duration (a, sizeof a, set->sla_night_ms));
    if (set->night_shift)
        fprintf (c->out, "  night shift: %s\n", set->night_shift);
    if (set->sla_reassign >= 0)
        fprintf (c->out, "  reassign when SLA is missed: %s\n", set->sla_reassign ? "on" : "off");
    if (set->overflow_order)
        fprintf (c->out, "  overflow order: %s\n", *set->order.csv ? set->order.csv : "(none)");
    for (int i = 0; i < set->intent_count; i++)
        fprintf (c->out, "  intent %s -> %s\n", set->intent[i]->name,
                 *set->group[i] ? set->group[i] : set->intent[i]->fallback);
    return kefuctl_change_config (c, "settings");
}

static int
s_set (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing set";
    s_set_t set;
    memset (&set, 0, sizeof set);
    set.sticky_days = set.sla_day_ms = set.sla_night_ms = -1;
    set.sla_reassign = -1;
    const char *shop_id = NULL, *by = NULL, *v;
    const char *sticky = NULL, *sla_day = NULL, *sla_night = NULL, *reassign = NULL;
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--busy-reply")))
            set.busy_reply = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--after-hours-reply")))
            set.after_hours_reply = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sticky-days")))
            sticky = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-day")))
            sla_day = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-night")))
            sla_night = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--night-shift")))
            set.night_shift = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sla-reassign")))
            reassign = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--overflow-order")))
            set.overflow_order = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--intent-group"))) {
            const char *eq = strchr (v, '=');
            const s_intent_t *intent = eq ? s_intent_by_name (v, (size_t) (eq - v)) : NULL;
            if (!intent) {
                fprintf (stderr,
                         "%s: bad --intent-group \"%s\": use INTENT=GROUP with INTENT one of "
                         "presales bargaining urge_shipping delivery_time logistics "
                         "return_refund complaint negative_review other\n",
                         cmd, v);
                return KEFUCTL_USAGE;
            }
            if (set.intent_count == S_MAX_INTENT_ARGS) {
                fprintf (stderr, "%s: too many --intent-group options\n", cmd);
                return KEFUCTL_USAGE;
            }
            if (strcmp (eq + 1, "default") && kefuctl_check_name (cmd, "group", eq + 1))
                return KEFUCTL_USAGE;
            set.intent[set.intent_count] = intent;
            snprintf (set.group[set.intent_count], sizeof set.group[0], "%s",
                      strcmp (eq + 1, "default") ? eq + 1 : "");
            set.intent_count++;
        } else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    bool changes = set.busy_reply || set.after_hours_reply || sticky || sla_day || sla_night ||
                   set.night_shift || reassign || set.overflow_order || set.intent_count;
    if (!shop_id || !changes) {
        fprintf (stderr, "%s: needs <shop> and at least one setting to change (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) ||
        (set.busy_reply &&
         kefuctl_check_text (cmd, "--busy-reply", set.busy_reply, S_REPLY_MAX, true)) ||
        (set.after_hours_reply && kefuctl_check_text (cmd, "--after-hours-reply",
                                                      set.after_hours_reply, S_REPLY_MAX, true)) ||
        (sticky && kefuctl_parse_int (cmd, "--sticky-days", sticky, 0, 90, &set.sticky_days)) ||
        (sla_day &&
         kefuctl_parse_duration (cmd, "--sla-day", sla_day, 1, 3600000, &set.sla_day_ms)) ||
        (sla_night &&
         kefuctl_parse_duration (cmd, "--sla-night", sla_night, 1, 3600000, &set.sla_night_ms)) ||
        (set.night_shift && kefuctl_check_name (cmd, "shift", set.night_shift)) ||
        (set.overflow_order &&
         kefuctl_parse_names (cmd, "group", set.overflow_order, true, &set.order)))
        return KEFUCTL_USAGE;
    if (reassign) {
        if (strcmp (reassign, "on") == 0)
            set.sla_reassign = 1;
        else if (strcmp (reassign, "off") == 0)
            set.sla_reassign = 0;
        else {
            fprintf (stderr, "%s: --sla-reassign takes on or off, not \"%s\"\n", cmd, reassign);
            return KEFUCTL_USAGE;
        }
    }
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_set_change, &set);
}

//  ---------------------------------------------------------------------------
//  routing prune

typedef struct {
    bool dry_run;
    const char *before; //  the cut-off, for people
} s_pruned_t;

static void
s_on_pruned (void *arg, const char *what, int64_t rows)
{
    const s_pruned_t *p = arg;
    printf ("%s %" PRId64 " %s from before %s\n", p->dry_run ? "would prune" : "pruned", rows, what,
            p->before);
}

static int
s_prune (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl routing prune";
    int64_t keep_ms = 180LL * 86400000;
    bool dry_run = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = kefuctl_opt (argc, argv, &i, "--keep"))) {
            if (kefuctl_parse_duration (cmd, "--keep", v, 86400000LL, 3650LL * 86400000, &keep_ms))
                return KEFUCTL_USAGE;
        } else if (strcmp (argv[i], "--dry-run") == 0)
            dry_run = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    kf_store_t *store = kefuctl_store (ctl);
    if (!store)
        return KEFUCTL_FAILED;
    int64_t cutoff = ctl->now_ms - keep_ms;
    time_t cut_s = (time_t) (cutoff / 1000);
    struct tm tm;
    char before[32] = "?";
    if (gmtime_r (&cut_s, &tm))
        strftime (before, sizeof before, "%Y-%m-%d %H:%M UTC", &tm);
    s_pruned_t pruned = {dry_run, before};
    kf_error_t err;
    kf_error_clear (&err);
    int rc = KEFUCTL_OK;
    if (routing_store_prune (store, cutoff, ctl->now_ms, dry_run, S_PRUNE_CHUNK, s_on_pruned,
                             &pruned, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_routing (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    if (strcmp (argv[1], "show") == 0)
        return s_show (ctl, argc, argv);
    if (strcmp (argv[1], "set") == 0)
        return s_set (ctl, argc, argv);
    if (strcmp (argv[1], "prune") == 0)
        return s_prune (ctl, argc, argv);
    fprintf (stderr, "kefuctl routing: unknown verb \"%s\" (show, set, prune)\n", argv[1]);
    return KEFUCTL_USAGE;
}
