/*  kefuctl transfer, kefuctl queue — a supervisor's hands on live traffic:
    move a conversation to another agent (an explicit, recorded act), and
    see who is waiting. */
#include "kefuctl.h"

#include "intake_store.h"
#include "routing_store.h"

#include "kefu/v1/common.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REASON_MAX 1024 //  transfer reason, bytes

static void
s_transfer_help (void)
{
    printf ("Usage: kefuctl transfer <shop> <conversation_id> --to AGENT --reason TEXT "
            "[--by WHO]\n\n"
            "Asks routing to move an open conversation to agent AGENT (转接). There are no\n"
            "silent transfers in kefu: the request is an event (transfer.requested) with who\n"
            "asked (--by, default $USER) and why (--reason, kept in the audit trail); the\n"
            "routing service carries it out, tells both agents, and records the change of\n"
            "owner. The new owner becomes the customer's first-contact agent (首问责任制).\n"
            "The conversation must be open (waiting or assigned), and AGENT an active agent of\n"
            "the shop with room: routing refuses a transfer to an agent at capacity, so this\n"
            "command does too (raise it with kefuctl agent set --capacity, or pick another\n"
            "agent). An agent who is busy, away or offline can be given the conversation; the\n"
            "command says so. TEXT is UTF-8, at most %d bytes.\n"
            "Exit codes: 0 requested (or the agent already has it), 1 failure (also: the agent\n"
            "            is at capacity), 2 usage, 4 the shop, the open conversation or the\n"
            "            active agent does not exist.\n",
            S_REASON_MAX);
}

static void
s_queue_help (void)
{
    printf ("Usage: kefuctl queue <shop> [--json]\n\n"
            "Lists the conversations waiting for an agent, per group (售前, 售后, ...) in the\n"
            "order they will be served: by class (urgent: complaints 投诉 and bad reviews 中差评;\n"
            "then after-sales: shipping, logistics, returns; then pre-sales and the rest), VIP\n"
            "customers first within a class, then the longest wait. --json gives the class as\n"
            "a number too (0 urgent, 1 after-sales, 2 pre-sales: lower is served first).\n"
            "Customers waiting have received the shop's busy reply (or the after-hours reply\n"
            "outside all shifts); a conversation that waits longer than its group's overflow\n"
            "time moves to the overflow group (kefuctl group list).\n"
            "Exit codes: 0 success, 1 failure, 2 usage, 4 the shop does not exist.\n");
}

//  ---------------------------------------------------------------------------
//  transfer

typedef struct {
    int64_t conversation_id; //  the conversation
    const char *to;          //  the agent who takes it over
    const char *reason;      //  why
    //  Filled while checking:
    int state;          //  routing's state (1 queued, 2 assigned)
    char owner[129];    //  current agent ("" if queued)
    bool agent;         //  the target agent exists
    bool active;        //  ... and is active
    int presence;       //  AgentStatus
    int capacity, load; //  the target's capacity and open conversations
} s_transfer_t;

static int
s_transfer_change (kefuctl_change_t *c, void *arg)
{
    s_transfer_t *t = arg;
    int open = routing_store_open_conversation (c->store, c->shop_id, t->conversation_id, &t->state,
                                                t->owner, sizeof t->owner, &c->err);
    if (open < 0)
        return kefuctl_change_failed (c);
    if (open == 0) {
        int known =
            intake_store_conversation_known (c->store, c->shop_id, t->conversation_id, &c->err);
        if (known < 0)
            return kefuctl_change_failed (c);
        fprintf (stderr, "%s: shop %s has no open conversation %" PRId64 "%s\n", c->cmd, c->shop_id,
                 t->conversation_id, known ? " (it is closed)" : "");
        return KEFUCTL_NOT_FOUND;
    }
    routing_agent_row_t room;
    int agent = routing_store_agent_room (c->store, c->shop_id, t->to, &room, &c->err);
    if (agent < 0)
        return kefuctl_change_failed (c);
    t->agent = agent == 1;
    t->active = room.active;
    t->presence = room.presence;
    t->capacity = room.capacity;
    t->load = room.load;
    if (!t->agent || !t->active) {
        if (t->agent)
            fprintf (stderr,
                     "%s: agent %s of shop %s is inactive (kefuctl agent set %s %s --active)\n",
                     c->cmd, t->to, c->shop_id, c->shop_id, t->to);
        else
            fprintf (stderr, "%s: shop %s has no agent %s (kefuctl agent list %s)\n", c->cmd,
                     c->shop_id, t->to, c->shop_id);
        return KEFUCTL_NOT_FOUND;
    }
    if (t->state == 2 && strcmp (t->owner, t->to) == 0) {
        fprintf (c->out, "conversation %" PRId64 " is already with agent %s: nothing to do\n",
                 t->conversation_id, t->to);
        return KEFUCTL_OK; //  no request, no event
    }
    //  Routing refuses these too; saying so now beats a request that fails
    //  unseen. (Routing checks again when it carries the transfer out.)
    if (t->load >= t->capacity) {
        fprintf (stderr,
                 "%s: agent %s is at capacity (%d/%d): give them room first (kefuctl "
                 "agent set %s %s --capacity N) or pick another agent\n",
                 c->cmd, t->to, t->load, t->capacity, c->shop_id, t->to);
        return KEFUCTL_FAILED;
    }
    Kefu__V1__TransferRequested req = KEFU__V1__TRANSFER_REQUESTED__INIT;
    req.conversation_id = t->conversation_id;
    req.to_agent_id = (char *) t->to;
    req.by = (char *) c->by;
    req.reason = (char *) t->reason;
    Kefu__V1__Event event = KEFU__V1__EVENT__INIT;
    event.shop_id = (char *) c->shop_id;
    event.kind = "transfer.requested";
    event.payload_case = KEFU__V1__EVENT__PAYLOAD_TRANSFER_REQUESTED;
    event.transfer_requested = &req;
    if (kf_outbox_add (c->outbox, &event)) {
        fprintf (stderr, "%s: out of memory\n", c->cmd);
        return KEFUCTL_FAILED;
    }
    fprintf (c->out,
             "transfer of conversation %" PRId64 " from %s to %s requested; routing "
             "carries it out and records it\n",
             t->conversation_id, *t->owner ? t->owner : "the queue", t->to);
    if (t->presence != KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE)
        fprintf (c->out, "note: agent %s is not online (%s)\n", t->to,
                 t->presence == KEFU__V1__AGENT_STATUS__AGENT_STATUS_BUSY   ? "busy"
                 : t->presence == KEFU__V1__AGENT_STATUS__AGENT_STATUS_AWAY ? "away"
                                                                            : "offline");
    return KEFUCTL_OK;
}

int
kefuctl_transfer (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl transfer";
    if (kefuctl_wants_help (argc, argv)) {
        s_transfer_help ();
        return KEFUCTL_OK;
    }
    const char *shop_id = NULL, *conversation = NULL, *by = NULL, *v;
    s_transfer_t t;
    memset (&t, 0, sizeof t);
    for (int i = 1; i < argc; i++) {
        if ((v = kefuctl_opt (argc, argv, &i, "--to")))
            t.to = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--reason")))
            t.reason = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            by = v;
        else if (argv[i][0] != '-' && !shop_id)
            shop_id = argv[i];
        else if (argv[i][0] != '-' && !conversation)
            conversation = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!shop_id || !conversation || !t.to || !t.reason) {
        fprintf (stderr, "%s: needs <shop> <conversation_id> --to AGENT --reason TEXT\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, shop_id) ||
        kefuctl_parse_int (cmd, "<conversation_id>", conversation, 1, INT64_MAX,
                           &t.conversation_id) ||
        kefuctl_check_agent_id (cmd, t.to) ||
        kefuctl_check_text (cmd, "--reason", t.reason, S_REASON_MAX, true))
        return KEFUCTL_USAGE;
    by = kefuctl_by (cmd, by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop_id, by, s_transfer_change, &t);
}

//  ---------------------------------------------------------------------------
//  queue

static const char *
s_channel (char *buf, size_t size, int value)
{
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value (&kefu__v1__channel__descriptor, value);
    const char *name = ev ? ev->name + strlen ("CHANNEL_") : "unknown";
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = (char) tolower ((unsigned char) name[i]);
    buf[i] = 0;
    return buf;
}

static const char *
s_wait (char *buf, size_t size, int64_t ms)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;
    int n;
    if (s >= 3600)
        n = snprintf (buf, size, "%" PRId64 "h%02dm", s / 3600, (int) (s % 3600 / 60));
    else if (s >= 60)
        n = snprintf (buf, size, "%dm%02ds", (int) (s / 60), (int) (s % 60));
    else
        n = snprintf (buf, size, "%ds", (int) s);
    if (n < 0 && size)
        buf[0] = 0;
    return buf;
}

//  routing's queue classes (routing_class_t): lower is served first.
static const char *
s_class_name (int cls)
{
    return cls == 0 ? "urgent" : cls == 1 ? "aftersales" : cls == 2 ? "presales" : "other";
}

//  The waiting conversations as they come: per group a heading (its count
//  and longest wait, so the rows are gathered first), or JSON.
typedef struct {
    json_t *rows; //  every row, as JSON
} s_queue_t;

static void
s_on_queued (void *arg, const routing_queue_row_t *row)
{
    s_queue_t *self = arg;
    char channel[24];
    s_channel (channel, sizeof channel, row->channel);
    json_array_append_new (
        self->rows,
        json_pack ("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:i, s:s, s:b, s:I, s:s}", "group",
                   row->group, "group_display_name", row->group_display_name, "position",
                   (json_int_t) row->position, "conversation_id", (json_int_t) row->conversation_id,
                   "customer_id", (json_int_t) row->customer_id, "channel", channel,
                   "channel_customer_id", row->channel_customer_id, "class", row->class_,
                   "class_name", s_class_name (row->class_), "vip", row->vip, "waited_ms",
                   (json_int_t) row->waited_ms, "waiting_since", row->waiting_since));
}

static const char *
s_str (json_t *row, const char *key)
{
    return json_string_value (json_object_get (row, key));
}

static int64_t
s_int (json_t *row, const char *key)
{
    return (int64_t) json_integer_value (json_object_get (row, key));
}

static int
s_list_queue (kefuctl_list_t *list, kf_error_t *err)
{
    s_queue_t self = {json_array ()};
    if (routing_store_list_queue (list->store, list->shop_id, s_on_queued, &self, err)) {
        json_decref (self.rows);
        return -1;
    }
    size_t rows = json_array_size (self.rows);
    if (list->json) {
        char *text = json_dumps (self.rows, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    } else if (rows == 0)
        printf ("no conversations waiting\n");
    const char *group = NULL;
    for (size_t i = 0; i < rows && !list->json; i++) {
        json_t *row = json_array_get (self.rows, i);
        const char *g = s_str (row, "group");
        char wait[24];
        if (!group || strcmp (group, g) != 0) {
            int n = 0;
            int64_t longest = 0;
            for (size_t k = i;
                 k < rows && strcmp (s_str (json_array_get (self.rows, k), "group"), g) == 0;
                 k++, n++)
                if (s_int (json_array_get (self.rows, k), "waited_ms") > longest)
                    longest = s_int (json_array_get (self.rows, k), "waited_ms");
            printf ("%s%s %s: %d waiting, longest %s\n", group ? "\n" : "", g,
                    s_str (row, "group_display_name"), n, s_wait (wait, sizeof wait, longest));
            printf ("  %-4s %-14s %-10s %-3s %-9s %-14s %s\n", "POS", "CONVERSATION", "CLASS",
                    "VIP", "WAITING", "CHANNEL", "CUSTOMER");
            group = g;
        }
        printf ("  %-4d %-14" PRId64 " %-10s %-3s %-9s %-14s %s\n", (int) s_int (row, "position"),
                s_int (row, "conversation_id"), s_str (row, "class_name"),
                json_is_true (json_object_get (row, "vip")) ? "yes" : "-",
                s_wait (wait, sizeof wait, s_int (row, "waited_ms")), s_str (row, "channel"),
                s_str (row, "channel_customer_id"));
    }
    json_decref (self.rows);
    return 0;
}

int
kefuctl_queue (kefuctl_t *ctl, int argc, char **argv)
{
    const char *cmd = "kefuctl queue";
    if (kefuctl_wants_help (argc, argv)) {
        s_queue_help ();
        return KEFUCTL_OK;
    }
    return kefuctl_list_run (ctl, cmd, argc, argv, 1, s_list_queue, NULL);
}
