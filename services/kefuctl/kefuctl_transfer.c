/*  kefuctl transfer, kefuctl queue — a supervisor's hands on live traffic:
    move a conversation to another agent (an explicit, recorded act), and
    see who is waiting. */
#include "kefuctl.h"

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
    int state;          //  routing's state (1 queued, 2 assigned); 3 closed, 0 unknown
    char owner[129];    //  current agent ("" if queued)
    bool agent;         //  the target agent exists
    bool active;        //  ... and is active
    int presence;       //  AgentStatus
    int capacity, load; //  the target's capacity and open conversations
} s_transfer_t;

static int
s_on_conversation (const PGresult *res, void *arg)
{
    s_transfer_t *t = arg;
    if (PQntuples (res) == 1) {
        t->state = (int) kf_store_int (res, 0, 0);
        snprintf (t->owner, sizeof t->owner, "%s", kf_store_text (res, 0, 1));
    }
    return 0;
}

static int
s_on_agent (const PGresult *res, void *arg)
{
    s_transfer_t *t = arg;
    if (PQntuples (res) == 1) {
        t->agent = true;
        t->active = strcmp (kf_store_text (res, 0, 0), "t") == 0;
        t->presence = (int) kf_store_int (res, 0, 1);
        t->capacity = (int) kf_store_int (res, 0, 2);
        t->load = (int) kf_store_int (res, 0, 3);
    }
    return 0;
}

static int
s_transfer_change (kefuctl_change_t *c, void *arg)
{
    s_transfer_t *t = arg;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, c->shop_id);
    kf_params_int (&params, t->conversation_id);
    if (kf_store_exec_sql (c->store,
                           "SELECT coalesce (r.state, CASE WHEN c.closed_at IS NULL THEN 0"
                           "  ELSE 3 END), coalesce (r.agent_id, '') "
                           "FROM (SELECT $1::text AS shop_id, $2::int8 AS id) k "
                           "LEFT JOIN routing_conversations r"
                           " ON r.shop_id = k.shop_id AND r.conversation_id = k.id "
                           "LEFT JOIN conversations c"
                           " ON c.shop_id = k.shop_id AND c.conversation_id = k.id",
                           &params, s_on_conversation, t, &c->err))
        return kefuctl_change_failed (c);
    if (t->state == 0 || t->state == 3) {
        fprintf (stderr, "%s: shop %s has no open conversation %" PRId64 "%s\n", c->cmd, c->shop_id,
                 t->conversation_id, t->state == 3 ? " (it is closed)" : "");
        return KEFUCTL_NOT_FOUND;
    }
    kf_params_init (&params);
    kf_params_str (&params, c->shop_id);
    kf_params_str (&params, t->to);
    if (kf_store_exec_sql (c->store,
                           "SELECT a.active, coalesce (p.status, 4), a.capacity,"
                           " (SELECT count (*) FROM routing_conversations r"
                           "  WHERE r.shop_id = a.shop_id AND r.state = 2"
                           "  AND r.agent_id = a.agent_id) "
                           "FROM agents a LEFT JOIN agent_presence p"
                           " ON p.shop_id = a.shop_id AND p.agent_id = a.agent_id "
                           "WHERE a.shop_id = $1::text AND a.agent_id = $2::text",
                           &params, s_on_agent, t, &c->err))
        return kefuctl_change_failed (c);
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

static int
s_on_queue (const PGresult *res, void *arg)
{
    const kefuctl_list_t *list = arg;
    bool json = list->json;
    json_t *array = json_array ();
    int rows = PQntuples (res);
    if (!json && rows == 0)
        printf ("no conversations waiting\n");
    const char *group = NULL;
    for (int i = 0; i < rows; i++) {
        const char *g = kf_store_text (res, i, 0);
        char channel[24], wait[24];
        s_channel (channel, sizeof channel, (int) kf_store_int (res, i, 5));
        int64_t waited = kf_store_int (res, i, 9);
        bool vip = strcmp (kf_store_text (res, i, 8), "t") == 0;
        if (json) {
            json_array_append_new (
                array,
                json_pack ("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:i, s:s, s:b, s:I, s:s}", "group",
                           g, "group_display_name", kf_store_text (res, i, 1), "position",
                           (json_int_t) kf_store_int (res, i, 2), "conversation_id",
                           (json_int_t) kf_store_int (res, i, 3), "customer_id",
                           (json_int_t) kf_store_int (res, i, 4), "channel", channel,
                           "channel_customer_id", kf_store_text (res, i, 6), "class",
                           (int) kf_store_int (res, i, 7), "class_name",
                           s_class_name ((int) kf_store_int (res, i, 7)), "vip", vip, "waited_ms",
                           (json_int_t) waited, "waiting_since", kf_store_text (res, i, 10)));
            continue;
        }
        if (!group || strcmp (group, g) != 0) {
            int n = 0;
            int64_t longest = 0;
            for (int k = i; k < rows && strcmp (kf_store_text (res, k, 0), g) == 0; k++, n++)
                if (kf_store_int (res, k, 9) > longest)
                    longest = kf_store_int (res, k, 9);
            printf ("%s%s %s: %d waiting, longest %s\n", group ? "\n" : "", g,
                    kf_store_text (res, i, 1), n, s_wait (wait, sizeof wait, longest));
            printf ("  %-4s %-14s %-10s %-3s %-9s %-14s %s\n", "POS", "CONVERSATION", "CLASS",
                    "VIP", "WAITING", "CHANNEL", "CUSTOMER");
            group = g;
        }
        printf ("  %-4d %-14" PRId64 " %-10s %-3s %-9s %-14s %s\n", (int) kf_store_int (res, i, 2),
                kf_store_int (res, i, 3), s_class_name ((int) kf_store_int (res, i, 7)),
                vip ? "yes" : "-", s_wait (wait, sizeof wait, waited), channel,
                kf_store_text (res, i, 6));
    }
    if (json) {
        char *text = json_dumps (array, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    json_decref (array);
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
    //  Queue order: class (lower = more urgent), VIP first, then the longest
    //  wait; the conversation id breaks ties so the order is stable.
    return kefuctl_list_by_shop (
        ctl, cmd, argc, argv, 1,
        "SELECT c.group_name, coalesce (g.display_name, ''),"
        " row_number () OVER (PARTITION BY c.group_name ORDER BY c.class, c.vip DESC,"
        "  coalesce (c.queued_at, c.opened_at), c.conversation_id) AS pos,"
        " c.conversation_id, c.customer_id, c.channel, c.channel_customer_id, c.class, c.vip,"
        " (extract (epoch FROM now () - coalesce (c.queued_at, c.opened_at)) * 1000)::int8,"
        " coalesce (c.queued_at, c.opened_at)::text "
        "FROM routing_conversations c LEFT JOIN routing_groups g"
        " ON g.shop_id = c.shop_id AND g.group_name = c.group_name "
        "WHERE c.shop_id = $1::text AND c.state = 1 ORDER BY c.group_name, pos",
        s_on_queue);
}
