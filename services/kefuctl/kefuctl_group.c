/*  kefuctl group — a shop's agent groups (售前 presales, 售后 aftersales, ...),
    each a queue, and where a queue overflows when it waits too long. */
#include "kefuctl.h"

#include "routing_store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DISPLAY_MAX  64   //  routing_groups.display_name, bytes
#define S_OVERFLOW_MIN 1000 //  --overflow-after bounds, ms
#define S_OVERFLOW_MAX 86400000

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl group add <shop> <group> --name DISPLAY [--overflow-to GROUP]\n"
            "                    [--overflow-after DURATION] [--by WHO]\n"
            "  kefuctl group set <shop> <group> [--name DISPLAY] [--overflow-to GROUP |\n"
            "                    --no-overflow] [--overflow-after DURATION] [--by WHO]\n"
            "  kefuctl group list <shop> [--json]\n\n"
            "Agents belong to groups, such as 售前 (pre-sales: product questions, bargaining)\n"
            "and 售后 (after-sales: shipping, logistics, returns, complaints). Each intent goes\n"
            "to one group (kefuctl routing set --intent-group), and each group has its own\n"
            "queue: when every agent of the group is full, the conversation waits there\n"
            "(complaints and after-sales before pre-sales, VIP customers first, then by\n"
            "waiting time) and the customer gets the shop's busy reply.\n"
            "  <group>           the group's name: 1-32 of a-z 0-9 _ . - (e.g. presales)\n"
            "  --name DISPLAY    what supervisors and agents see, e.g. 售前 (1-%d bytes)\n"
            "  --overflow-to G   a conversation that waited --overflow-after (default 2m) in\n"
            "                    this queue moves to group G's queue. G must exist: to make two\n"
            "                    groups overflow to each other, add both, then group set.\n"
            "  --no-overflow     the queue never overflows.\n"
            "kefuctl shift defaults creates presales (售前) and aftersales (售后), overflowing\n"
            "to each other after 2 minutes. Every change is one transaction with a\n"
            "config.changed event (by --by, default $USER).\n"
            "Exit codes: 0 success, 1 failure, 2 usage (also: unknown --overflow-to group),\n"
            "            3 the group already exists, 4 the shop or group does not exist.\n",
            S_DISPLAY_MAX);
}

typedef struct {
    bool add;                //  add (else set)
    const char *group;       //  the group's name
    const char *display;     //  NULL: unchanged (set)
    bool overflow_given;     //  --overflow-to or --no-overflow
    const char *overflow_to; //  NULL with overflow_given: none
    int64_t overflow_after;  //  ms; -1: unchanged / default
} s_group_t;

static int
s_change (kefuctl_change_t *c, void *arg)
{
    s_group_t *g = arg;
    if (g->overflow_to) {
        kefuctl_names_t names;
        int rc = kefuctl_parse_names (c->cmd, "group", g->overflow_to, false, &names);
        if (rc || (rc = kefuctl_require (c, "group", &names)))
            return rc;
    }
    routing_group_row_t stored;
    int done = routing_store_put_group (c->store, c->shop_id, g->group, g->add, g->display,
                                        g->overflow_given, g->overflow_to, g->overflow_after,
                                        &stored, &c->err);
    if (done < 0)
        return kefuctl_change_failed (c);
    if (!done && g->add) {
        fprintf (stderr, "%s: shop %s already has a group %s (change it with kefuctl group set)\n",
                 c->cmd, c->shop_id, g->group);
        return KEFUCTL_EXISTS;
    }
    if (!done) {
        fprintf (stderr, "%s: shop %s has no group %s (kefuctl group list %s)\n", c->cmd,
                 c->shop_id, g->group, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    char a[32];
    if (*stored.overflow_to)
        fprintf (c->out, "group %s %s in shop %s: %s, overflow to %s after %s\n", g->group,
                 g->add ? "added" : "changed", c->shop_id, stored.display, stored.overflow_to,
                 kefuctl_fmt_duration (a, sizeof a, stored.overflow_after_ms));
    else
        fprintf (c->out, "group %s %s in shop %s: %s, no overflow\n", g->group,
                 g->add ? "added" : "changed", c->shop_id, stored.display);
    return kefuctl_change_config (c, "groups");
}

static int
s_add_or_set (kefuctl_t *ctl, int argc, char **argv, bool add)
{
    const char *cmd = add ? "kefuctl group add" : "kefuctl group set";
    const char *shop_id = NULL, *after = NULL, *by = NULL, *v;
    s_group_t g = {add, NULL, NULL, false, NULL, -1};
    for (int i = 2; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--name")))
            g.display = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--overflow-to"))) {
            g.overflow_to = v;
            g.overflow_given = true;
        } else if (strcmp (argv[i], "--no-overflow") == 0) {
            if (g.overflow_to) {
                fprintf (stderr, "%s: --overflow-to and --no-overflow exclude each other\n", cmd);
                return KEFUCTL_USAGE;
            }
            g.overflow_given = true;
        } else if ((v = kefuctl_opt (argc, argv, &i, "--overflow-after")))
            after = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !g.group)
            g.group = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !g.group || (add && !g.display) ||
        (!add && !g.display && !g.overflow_given && !after)) {
        fprintf (stderr, "%s: needs <shop> <group> and %s\n", cmd,
                 add ? "--name DISPLAY" : "something to change (see --help)");
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) || kefuctl_check_name (cmd, "group", g.group) ||
        (g.display && kefuctl_check_label (cmd, "--name", g.display, S_DISPLAY_MAX)) ||
        (g.overflow_to && kefuctl_check_name (cmd, "group", g.overflow_to)) ||
        (after && kefuctl_parse_duration (cmd, "--overflow-after", after, S_OVERFLOW_MIN,
                                          S_OVERFLOW_MAX, &g.overflow_after)))
        return KEFUCTL_USAGE;
    if (g.overflow_to && strcmp (g.overflow_to, g.group) == 0) {
        fprintf (stderr, "%s: group %s cannot overflow to itself\n", cmd, g.group);
        return KEFUCTL_USAGE;
    }
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_change, &g);
}

static void
s_on_group (void *arg, const routing_group_row_t *g)
{
    json_t *array = arg;
    json_array_append_new (
        array, json_pack ("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I}", "group", g->name, "display_name",
                          g->display, "overflow_to", *g->overflow_to ? g->overflow_to : NULL,
                          "overflow_after_ms", (json_int_t) g->overflow_after_ms, "agents",
                          (json_int_t) g->agents, "active_agents", (json_int_t) g->active_agents,
                          "waiting", (json_int_t) g->waiting));
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl group list";
    const char *shop_id;
    bool json;
    int rc = kefuctl_shop_args (cmd, argc, argv, 2, &shop_id, &json, NULL);
    kf_store_t *store = NULL;
    if (rc || (rc = kefuctl_shop_open (ctl, cmd, shop_id, &store)))
        return rc;
    json_t *array = json_array ();
    kf_error_t err;
    if (routing_store_list_groups (store, shop_id, s_on_group, array, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    } else if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else if (json_array_size (array) == 0)
        printf ("no groups (kefuctl shift defaults, or kefuctl group add)\n");
    else {
        printf ("%-16s %-24s %-7s %-6s %-7s %s\n", "GROUP", "OVERFLOW", "AGENTS", "ACTIVE",
                "WAITING", "NAME");
        size_t i;
        json_t *g;
        json_array_foreach (array, i, g)
        {
            const char *to = json_string_value (json_object_get (g, "overflow_to"));
            char a[32], flow[64] = "-";
            if (to &&
                snprintf (flow, sizeof flow, "%s after %s", to,
                          kefuctl_fmt_duration (a, sizeof a,
                                                json_integer_value (json_object_get (
                                                    g, "overflow_after_ms")))) >= (int) sizeof flow)
                snprintf (flow, sizeof flow, "%s", to);
            printf ("%-16s %-24s %-7d %-6d %-7d %s\n",
                    json_string_value (json_object_get (g, "group")), flow,
                    (int) json_integer_value (json_object_get (g, "agents")),
                    (int) json_integer_value (json_object_get (g, "active_agents")),
                    (int) json_integer_value (json_object_get (g, "waiting")),
                    json_string_value (json_object_get (g, "display_name")));
        }
    }
    json_decref (array);
    kf_store_destroy (&store);
    return rc;
}

int
kefuctl_group (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "add") == 0)
        return s_add_or_set (ctl, argc, argv, true);
    if (strcmp (verb, "set") == 0)
        return s_add_or_set (ctl, argc, argv, false);
    if (strcmp (verb, "list") == 0)
        return s_list (ctl, argc, argv);
    fprintf (stderr, "kefuctl group: unknown verb \"%s\" (add, set, list)\n", verb);
    return KEFUCTL_USAGE;
}
