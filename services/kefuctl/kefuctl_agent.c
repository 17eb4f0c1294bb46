/*  kefuctl agent — a shop's customer-service agents: their groups, capacity,
    schedule (which shifts, which days, rotation) and handover notes
    (kefuctl handover). */
#include "kefuctl.h"

#include "routing_store.h"

#include "kefu/v1/common.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX 64   //  agents.name, bytes
#define S_NOTE_MAX 1024 //  agents.handover_note, bytes

static void
s_help (void)
{
    printf (
        "Usage:\n"
        "  kefuctl agent add <shop> <agent_id> --name NAME [--groups A,B] [--capacity N]\n"
        "                    [--weight N] [--vip] [--shift NAME[,NAME]] [--days DAYS]\n"
        "                    [--rotation N:K] [--by WHO]\n"
        "  kefuctl agent set <shop> <agent_id> [--name NAME] [--capacity N] [--weight N]\n"
        "                    [--vip | --no-vip] [--groups A,B] [--active | --inactive] [--by WHO]\n"
        "  kefuctl agent schedule <shop> <agent_id> [--clear] [--shift NAME[,NAME]\n"
        "                    [--days DAYS] [--rotation N:K]] [--by WHO]\n"
        "  kefuctl agent list <shop> [--json]\n\n"
        "An agent (客服) is a person answering customers; <agent_id> is their login on the\n"
        "chat platform (1-128 of A-Z a-z 0-9 _ . @ -), NAME what supervisors see (1-%d bytes).\n"
        "  --groups A,B    the groups (queues) the agent serves, e.g. presales (售前) or\n"
        "                  aftersales (售后); on set the list replaces the old one (\"\" = none).\n"
        "  --capacity N    how many conversations the agent handles at once (0-100, default 5).\n"
        "  --weight N      share of new conversations among agents with room (1-10, default 1).\n"
        "  --vip           a VIP customer goes to an agent with --vip when one of the group\n"
        "                  has room, to any agent otherwise (--no-vip takes it back).\n"
        "  --inactive      the agent gets no new conversations (left the team, on leave);\n"
        "                  --active brings them back. Agents are never deleted: the record keeps\n"
        "                  who served whom.\n"
        "  --shift, --days, --rotation  when the agent works: the shifts (kefuctl shift list),\n"
        "                  on DAYS (all, weekdays, weekends, mon-fri, sat,sun, mon,wed,fri;\n"
        "                  default all), every N weeks in week K of the cycle (N:K, default 1:0).\n"
        "                  Weeks run Monday to Sunday in the shop's time zone; K may be this or\n"
        "                  next (the week of the cycle this or next week is). A two-week\n"
        "                  day/night rotation is two rows: --shift day --rotation 2:this, then\n"
        "                  kefuctl agent schedule ... --shift night --rotation 2:next. Schedules\n"
        "                  show a rotation as [N:K], with \"this week\" on the rows in force now.\n"
        "  schedule        adds the rows for --shift, replacing the agent's row of the same shift\n"
        "                  and week K; --clear removes all rows first (alone: no schedule).\n"
        "  list            every agent with groups, capacity, weight, VIP, schedule, current\n"
        "                  presence (online/busy/away/offline) and load (open conversations),\n"
        "                  and their handover note (交接留言).\n"
        "While on shift and online an agent gets conversations of their groups; a returning\n"
        "customer goes back to the agent who served them (首问责任制, kefuctl routing set\n"
        "--sticky-days). Groups and shifts must exist first: kefuctl shift defaults creates\n"
        "presales/aftersales and day/night. Every change is one transaction with a\n"
        "config.changed event (by --by, default $USER).\n"
        "Exit codes: 0 success, 1 failure, 2 usage (also: unknown group or shift),\n"
        "            3 the agent already exists, 4 the shop or agent does not exist.\n",
        S_NAME_MAX);
}

static void
s_handover_help (void)
{
    printf (
        "Usage: kefuctl handover <shop> <agent_id> --note TEXT [--by WHO]\n\n"
        "Sets the agent's handover note (交接留言): what the next shift must know about the\n"
        "agent's open conversations (\"客户A等退款到账后回复\", \"订单123已催仓库\"). When the\n"
        "agent's shift ends or they go offline, routing moves their open conversations to\n"
        "agents on shift and passes the note along with them. --note \"\" clears it.\n"
        "TEXT is UTF-8, at most %d bytes, and may span lines. The change is one transaction\n"
        "with a config.changed event (what=notes, by --by, default $USER).\n"
        "Exit codes: 0 success, 1 failure, 2 usage, 4 the shop or agent does not exist.\n",
        S_NOTE_MAX);
}

//  Everything agent add / set / schedule may be told.
typedef struct {
    const char *agent_id;   //  the agent
    const char *name;       //  NULL: unchanged
    int64_t capacity;       //  -1: unchanged / default
    int64_t weight;         //  -1: unchanged / default
    int vip;                //  -1 unchanged, 0, 1
    int active;             //  -1 unchanged, 0, 1
    bool groups_given;      //  --groups present
    kefuctl_names_t groups; //  --groups
    bool clear;             //  schedule --clear
    kefuctl_names_t shifts; //  --shift
    int days;               //  bitmask, bit 0 = Monday
    int weeks, offset;      //  rotation N:K
} s_agent_t;

//  Inside a change: does the agent exist? Locks the row so that the
//  schedule and groups written next belong to an agent that stays.
static int
s_agent_exists (kefuctl_change_t *c, const char *agent_id)
{
    int rows = routing_store_lock_agent (c->store, c->shop_id, agent_id, &c->err);
    if (rows < 0)
        return kefuctl_change_failed (c);
    if (!rows) {
        fprintf (stderr, "%s: shop %s has no agent %s (kefuctl agent list %s)\n", c->cmd,
                 c->shop_id, agent_id, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    return KEFUCTL_OK;
}

static int
s_write_groups (kefuctl_change_t *c, const s_agent_t *a, bool replace)
{
    if (routing_store_put_agent_groups (c->store, c->shop_id, a->agent_id,
                                        a->groups.count ? a->groups.csv : "", replace, &c->err))
        return kefuctl_change_failed (c);
    return KEFUCTL_OK;
}

static int
s_write_schedule (kefuctl_change_t *c, const s_agent_t *a)
{
    int offset = a->offset; //  this / next: the week of the cycle they are now
    if (a->shifts.count && kefuctl_rotation_resolve (c, a->weeks, &offset))
        return KEFUCTL_FAILED;
    if (routing_store_put_agent_schedule (c->store, c->shop_id, a->agent_id, a->clear,
                                          a->shifts.count ? a->shifts.csv : "", a->days, a->weeks,
                                          offset, &c->err))
        return kefuctl_change_failed (c);
    return KEFUCTL_OK;
}

//  Append one schedule row, "day@mon-fri" or "night@all[2:1 this week]",
//  to text (size bytes, used so far in *used).
static void
s_fmt_schedule_row (char *text, size_t size, size_t *used, const char *shift, int days, int weeks,
                    int offset, int64_t week)
{
    char d[64], rot[40];
    kefuctl_fmt_days (d, sizeof d, days);
    kefuctl_fmt_rotation (rot, sizeof rot, weeks, offset, week);
    int n = snprintf (text + *used, size - *used, "%s%s@%s%s", *used ? " " : "",
                      shift ? shift : "?", d, rot);
    if (n > 0 && (size_t) n < size - *used)
        *used += (size_t) n;
}

typedef struct {
    char text[512]; //  the schedule, formatted
    int64_t week;   //  this week (kefuctl_week)
} s_schedule_text_t;

//  One row of the schedule, appended to the text.
static void
s_on_schedule (void *arg, const char *shift, int days, int weeks, int offset)
{
    s_schedule_text_t *s = arg;
    size_t used = strlen (s->text);
    s_fmt_schedule_row (s->text, sizeof s->text, &used, shift, days, weeks, offset, s->week);
}

//  After a change: print the agent's schedule as it now stands.
static int
s_print_schedule (kefuctl_change_t *c, const char *agent_id)
{
    s_schedule_text_t schedule = {"", kefuctl_week (c->timezone, c->now_ms)};
    if (routing_store_agent_schedule (c->store, c->shop_id, agent_id, s_on_schedule, &schedule,
                                      &c->err))
        return kefuctl_change_failed (c);
    fprintf (c->out, "  schedule: %s\n",
             *schedule.text ? schedule.text : "none (no shift: the agent is never routed to)");
    return KEFUCTL_OK;
}

static int
s_add_change (kefuctl_change_t *c, void *arg)
{
    s_agent_t *a = arg;
    int rc = kefuctl_require (c, "group", &a->groups);
    if (rc || (rc = kefuctl_require (c, "shift", &a->shifts)))
        return rc;
    int rows = routing_store_add_agent (c->store, c->shop_id, a->agent_id, a->name,
                                        a->capacity >= 0 ? (int) a->capacity : 5,
                                        a->weight >= 0 ? (int) a->weight : 1, a->vip == 1, &c->err);
    if (rows < 0)
        return kefuctl_change_failed (c);
    if (!rows) {
        fprintf (stderr, "%s: shop %s already has an agent %s (change it with kefuctl agent set)\n",
                 c->cmd, c->shop_id, a->agent_id);
        return KEFUCTL_EXISTS;
    }
    if ((rc = s_write_groups (c, a, false)) || (rc = s_write_schedule (c, a)))
        return rc;
    fprintf (c->out, "agent %s added to shop %s: %s, capacity %d, weight %d%s\n", a->agent_id,
             c->shop_id, a->name, (int) (a->capacity >= 0 ? a->capacity : 5),
             (int) (a->weight >= 0 ? a->weight : 1), a->vip == 1 ? ", serves VIP" : "");
    fprintf (c->out, "  groups: %s\n",
             a->groups.count ? a->groups.csv : "none (the agent gets no conversations)");
    if ((rc = s_print_schedule (c, a->agent_id)))
        return rc;
    return kefuctl_change_config (c, "agents");
}

static int
s_set_change (kefuctl_change_t *c, void *arg)
{
    s_agent_t *a = arg;
    int rc = s_agent_exists (c, a->agent_id);
    if (rc || (rc = kefuctl_require (c, "group", &a->groups)))
        return rc;
    if (routing_store_set_agent (c->store, c->shop_id, a->agent_id, a->name, (int) a->capacity,
                                 (int) a->weight, a->vip, a->active, &c->err))
        return kefuctl_change_failed (c);
    if (a->groups_given && (rc = s_write_groups (c, a, true)))
        return rc;
    fprintf (c->out, "agent %s of shop %s changed:", a->agent_id, c->shop_id);
    if (a->name)
        fprintf (c->out, " name %s;", a->name);
    if (a->capacity >= 0)
        fprintf (c->out, " capacity %d;", (int) a->capacity);
    if (a->weight >= 0)
        fprintf (c->out, " weight %d;", (int) a->weight);
    if (a->vip >= 0)
        fprintf (c->out, " %s;", a->vip ? "serves VIP" : "no VIP");
    if (a->active >= 0)
        fprintf (c->out, " %s;", a->active ? "active" : "inactive (gets no new conversations)");
    if (a->groups_given)
        fprintf (c->out, " groups %s;", a->groups.count ? a->groups.csv : "none");
    fprintf (c->out, "\n");
    return kefuctl_change_config (c, "agents");
}

static int
s_schedule_change (kefuctl_change_t *c, void *arg)
{
    s_agent_t *a = arg;
    int rc = s_agent_exists (c, a->agent_id);
    if (rc || (rc = kefuctl_require (c, "shift", &a->shifts)) || (rc = s_write_schedule (c, a)))
        return rc;
    fprintf (c->out, "agent %s of shop %s:\n", a->agent_id, c->shop_id);
    if ((rc = s_print_schedule (c, a->agent_id)))
        return rc;
    return kefuctl_change_config (c, "agents");
}

//  agent add / set / schedule: one parser, the verb decides what is allowed.
static int
s_change (kefuctl_t *ctl, int argc, char **argv, const char *verb)
{
    bool add = strcmp (verb, "add") == 0, set = strcmp (verb, "set") == 0;
    char cmd[64];
    snprintf (cmd, sizeof cmd, "kefuctl agent %s", add ? "add" : set ? "set" : "schedule");
    s_agent_t a;
    memset (&a, 0, sizeof a);
    a.capacity = a.weight = -1;
    a.vip = a.active = -1;
    a.days = 127;
    a.weeks = 1;
    const char *shop_id = NULL, *by = NULL, *v;
    const char *capacity = NULL, *weight = NULL, *groups = NULL, *shifts = NULL, *days = NULL,
               *rotation = NULL;
    bool when = !set;      //  add and schedule take --shift, --days, --rotation
    bool who = add || set; //  add and set take the agent's own settings
    for (int i = 2; i < argc; i++) {
        if (when && (v = kefuctl_opt (argc, argv, &i, "--shift")))
            shifts = v;
        else if (when && (v = kefuctl_opt (argc, argv, &i, "--days")))
            days = v;
        else if (when && (v = kefuctl_opt (argc, argv, &i, "--rotation")))
            rotation = v;
        else if (!who && strcmp (argv[i], "--clear") == 0)
            a.clear = true;
        else if (who && (v = kefuctl_opt (argc, argv, &i, "--name")))
            a.name = v;
        else if (who && (v = kefuctl_opt (argc, argv, &i, "--groups")))
            groups = v;
        else if (who && (v = kefuctl_opt (argc, argv, &i, "--capacity")))
            capacity = v;
        else if (who && (v = kefuctl_opt (argc, argv, &i, "--weight")))
            weight = v;
        else if (who && strcmp (argv[i], "--vip") == 0)
            a.vip = a.vip == 0 ? 2 : 1;
        else if (set && strcmp (argv[i], "--no-vip") == 0)
            a.vip = a.vip == 1 ? 2 : 0;
        else if (set && strcmp (argv[i], "--active") == 0)
            a.active = a.active == 0 ? 2 : 1;
        else if (set && strcmp (argv[i], "--inactive") == 0)
            a.active = a.active == 1 ? 2 : 0;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !a.agent_id)
            a.agent_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (a.vip == 2 || a.active == 2) {
        fprintf (stderr, "%s: %s\n", cmd,
                 a.vip == 2 ? "--vip and --no-vip exclude each other"
                            : "--active and --inactive exclude each other");
        return KEFUCTL_USAGE;
    }
    if (!shop_id || !a.agent_id) {
        fprintf (stderr, "%s: needs <shop> <agent_id> (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (add && !a.name) {
        fprintf (stderr, "%s: needs --name NAME (what supervisors see, e.g. 小美)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (set && !a.name && !capacity && !weight && a.vip < 0 && a.active < 0 && !groups) {
        fprintf (stderr, "%s: nothing to change (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (!add && !set && !a.clear && !shifts) {
        fprintf (stderr, "%s: needs --shift NAME or --clear\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (!shifts && (days || rotation)) {
        fprintf (stderr, "%s: --days and --rotation describe a --shift\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) || kefuctl_check_agent_id (cmd, a.agent_id) ||
        (a.name && kefuctl_check_label (cmd, "--name", a.name, S_NAME_MAX)) ||
        (capacity && kefuctl_parse_int (cmd, "--capacity", capacity, 0, 100, &a.capacity)) ||
        (weight && kefuctl_parse_int (cmd, "--weight", weight, 1, 10, &a.weight)) ||
        (groups && kefuctl_parse_names (cmd, "group", groups, set, &a.groups)) ||
        (shifts && kefuctl_parse_names (cmd, "shift", shifts, false, &a.shifts)) ||
        (days && kefuctl_parse_days (cmd, days, &a.days)) ||
        (rotation && kefuctl_parse_rotation (cmd, rotation, &a.weeks, &a.offset)))
        return KEFUCTL_USAGE;
    a.groups_given = groups != NULL;
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by,
                               add   ? s_add_change
                               : set ? s_set_change
                                     : s_schedule_change,
                               &a);
}

//  ---------------------------------------------------------------------------
//  agent list

//  A proto enum value's short name: AGENT_STATUS_ONLINE -> "online".
static const char *
s_enum_word (char *buf, size_t size, const ProtobufCEnumDescriptor *desc, int value,
             const char *prefix)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (desc, value);
    const char *name = ev ? ev->name : "unknown";
    if (strncmp (name, prefix, strlen (prefix)) == 0)
        name += strlen (prefix);
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = (char) tolower ((unsigned char) name[i]);
    buf[i] = 0;
    return buf;
}

//  The rows as they come: a table (its header before the first) or JSON.
typedef struct {
    const kefuctl_list_t *list;
    int64_t week;  //  this week (rotations), -1 unknown
    json_t *array; //  --json
    int rows;
} s_agents_t;

static void
s_on_agent (void *arg, const routing_agent_row_t *row)
{
    s_agents_t *self = arg;
    bool json = self->list->json;
    if (!json && self->rows++ == 0)
        printf ("%-20s %-8s %-6s %-3s %-3s %-8s %-8s %-24s %-28s %s\n", "AGENT", "ACTIVE", "LOAD",
                "WT", "VIP", "PRESENCE", "SINCE", "GROUPS", "SCHEDULE", "NAME");
    char presence[16];
    s_enum_word (presence, sizeof presence, &kefu__v1__agent_status__descriptor, row->presence,
                 "AGENT_STATUS_");
    json_error_t jerr;
    json_t *schedule = json_loads (row->schedule_json, 0, &jerr);
    if (!json_is_array (schedule)) {
        json_decref (schedule);
        schedule = json_array ();
    }
    //  Schedule rows arrive as [shift, days, weeks, offset] arrays.
    json_t *rows = json_array ();
    char text[512] = "";
    size_t used = 0;
    size_t k;
    json_t *r;
    json_array_foreach (schedule, k, r)
    {
        const char *shift = json_string_value (json_array_get (r, 0));
        int days = (int) json_integer_value (json_array_get (r, 1));
        int weeks = (int) json_integer_value (json_array_get (r, 2));
        int offset = (int) json_integer_value (json_array_get (r, 3));
        char d[64];
        kefuctl_fmt_days (d, sizeof d, days);
        //  this_week: the row is in force this week (a rotation's week).
        bool this_week = weeks <= 1 || (self->week >= 0 && self->week % weeks == offset);
        json_array_append_new (rows,
                               json_pack ("{s:s?, s:s, s:i, s:i, s:i, s:b}", "shift", shift, "days",
                                          d, "days_mask", days, "rotation_weeks", weeks,
                                          "rotation_offset", offset, "this_week", this_week));
        s_fmt_schedule_row (text, sizeof text, &used, shift, days, weeks, offset, self->week);
    }
    json_decref (schedule);
    if (json) {
        json_t *garr = json_array ();
        char *copy = strdup (row->groups), *save = NULL;
        for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
            json_array_append_new (garr, json_string (t));
        free (copy);
        json_array_append_new (
            self->array,
            json_pack ("{s:s, s:s, s:o, s:i, s:i, s:b, s:b, s:s, s:s?, s:i, s:o, s:s?}", "agent_id",
                       row->agent_id, "name", row->name, "groups", garr, "capacity", row->capacity,
                       "weight", row->weight, "vip", row->vip, "active", row->active, "presence",
                       presence, "presence_since", row->since, "load", row->load, "schedule", rows,
                       "handover_note", row->handover_note));
        return;
    }
    json_decref (rows);
    char loadbuf[24], since[16] = "-";
    if (snprintf (loadbuf, sizeof loadbuf, "%d/%d", row->load, row->capacity) < 0)
        loadbuf[0] = 0;
    //  "2026-11-23 08:31:02+08" -> "08:31"
    if (row->since && strlen (row->since) >= 16)
        snprintf (since, sizeof since, "%.5s", row->since + 11);
    printf ("%-20s %-8s %-6s %-3d %-3s %-8s %-8s %-24s %-28s %s\n", row->agent_id,
            row->active ? "yes" : "no", loadbuf, row->weight, row->vip ? "yes" : "-", presence,
            since, *row->groups ? row->groups : "-", *text ? text : "-", row->name);
    if (row->handover_note)
        printf ("    交接留言: %s\n", row->handover_note);
}

static int
s_list_agents (kefuctl_list_t *list, kf_error_t *err)
{
    s_agents_t self = {list, kefuctl_week (list->timezone, list->now_ms),
                       list->json ? json_array () : NULL, 0};
    if (routing_store_list_agents (list->store, list->shop_id, s_on_agent, &self, err)) {
        json_decref (self.array);
        return -1;
    }
    if (list->json) {
        char *out = json_dumps (self.array, JSON_INDENT (2));
        printf ("%s\n", out);
        free (out);
        json_decref (self.array);
    } else if (self.rows == 0)
        printf ("no agents (kefuctl agent add)\n");
    return 0;
}

static int
s_list (kefuctl_t *ctl, int argc, char **argv)
{
    return kefuctl_list_run (ctl, "kefuctl agent list", argc, argv, 2, s_list_agents, NULL);
}

int
kefuctl_agent (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        s_help ();
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1];
    if (strcmp (verb, "add") == 0 || strcmp (verb, "set") == 0 || strcmp (verb, "schedule") == 0)
        return s_change (ctl, argc, argv, verb);
    if (strcmp (verb, "list") == 0)
        return s_list (ctl, argc, argv);
    fprintf (stderr, "kefuctl agent: unknown verb \"%s\" (add, set, schedule, list)\n", verb);
    return KEFUCTL_USAGE;
}

//  ---------------------------------------------------------------------------
//  handover

typedef struct {
    const char *agent_id; //  the agent
    const char *note;     //  "" clears
} s_note_t;

static int
s_note_change (kefuctl_change_t *c, void *arg)
{
    s_note_t *n = arg;
    int rows = routing_store_set_handover (c->store, c->shop_id, n->agent_id, n->note, &c->err);
    if (rows < 0)
        return kefuctl_change_failed (c);
    if (!rows) {
        fprintf (stderr, "%s: shop %s has no agent %s (kefuctl agent list %s)\n", c->cmd,
                 c->shop_id, n->agent_id, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    if (*n->note)
        fprintf (c->out, "handover note (交接留言) of agent %s set\n", n->agent_id);
    else
        fprintf (c->out, "handover note (交接留言) of agent %s cleared\n", n->agent_id);
    return kefuctl_change_config (c, "notes");
}

int
kefuctl_handover (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl handover";
    if (kefuctl_wants_help (argc, argv)) {
        s_handover_help ();
        return KEFUCTL_OK;
    }
    const char *shop_id = NULL, *by = NULL, *v;
    s_note_t n = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--note")))
            n.note = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !n.agent_id)
            n.agent_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !n.agent_id || !n.note) {
        fprintf (stderr, "%s: needs <shop> <agent_id> --note TEXT (see --help)\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) || kefuctl_check_agent_id (cmd, n.agent_id) ||
        kefuctl_check_text (cmd, "--note", n.note, S_NOTE_MAX, false))
        return KEFUCTL_USAGE;
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_note_change, &n);
}
