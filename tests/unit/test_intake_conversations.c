/*  test_intake_conversations — the conversation rules, one test per rule,
    without PostgreSQL: a batch of items, what is known of its customers,
    and the plan (conversations, each item's conversation, events) the
    rules make of them. Times are sent_at on a made-up day (receive times
    equal unless a test says otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "intake_conversations.h"

#define S_MIN   (60 * 1000)
#define QUIET   (30 * S_MIN)
#define S_HOUR  (60 * S_MIN)
#define ABANDON (24 * S_HOUR)
#define T0      ((int64_t) 1796000000000) //  a morning in December 2026
#define PERIODS ((intake_periods_t){QUIET, ABANDON, S_HOUR})

static intake_item_t
s_item (intake_kind_t kind, const char *customer, int64_t at)
{
    intake_item_t item;
    memset (&item, 0, sizeof item);
    snprintf (item.shop_id, sizeof item.shop_id, "shop-1");
    item.channel = 1;
    item.kind = kind;
    item.received_at = item.sent_at = at;
    snprintf (item.customer_id, sizeof item.customer_id, "%s", customer);
    if (kind == INTAKE_KIND_PRESENCE) {
        item.customer_id[0] = '\0';
        snprintf (item.agent_id, sizeof item.agent_id, "%s", customer);
    }
    item.dup_of = -1;
    return item;
}

static intake_customer_t *
s_customer (intake_conversations_t *plan, const intake_item_t *item)
{
    char key[400];
    intake_conversations_key (item, key, sizeof key);
    intake_customer_t *c = intake_conversations_lookup (plan, key);
    assert_non_null (c);
    return c;
}

//  The record: the customer's latest conversation id is open, its last
//  message (an agent's reply: nobody waits) at last, count lines.
static void
s_answered (intake_conversations_t *plan, intake_customer_t *c, int64_t id, int64_t last,
            int64_t count)
{
    intake_conv_record_t r = {.id = id,
                              .open = true,
                              .opened_ms = last - 5 * S_MIN,
                              .stored_last_ms = last,
                              .last_ms = last,
                              .customer_ms = last - S_MIN,
                              .reply_ms = last,
                              .message_count = count};
    intake_conversations_latest (plan, c, &r);
}

//  The record: the customer's latest conversation id is closed; it opened
//  at opened.
static void
s_closed (intake_conversations_t *plan, intake_customer_t *c, int64_t id, int64_t opened,
          int64_t previous)
{
    intake_conv_record_t r = {.id = id, .opened_ms = opened, .previous_id = previous};
    intake_conversations_latest (plan, c, &r);
}

//  Events the plan produced: their kinds, in order, joined by spaces.
typedef struct {
    char kinds[512];            //  "conversation.opened message.accepted ..."
    int64_t closed_at[4];       //  conversation.closed: closed_at_ms
    int64_t closed_count[4];    //  ... message_count
    int closed_reason[4];       //  ... reason
    char closed_by[4][32];      //  ... agent
    int closes;                 //  conversation.closed events
    int64_t opened_previous[4]; //  conversation.opened: previous_conversation_id
    int opens;                  //  conversation.opened events
} s_events_t;

static int
s_record (void *arg, Kefu__V1__Event *ev)
{
    s_events_t *e = arg;
    size_t used = strlen (e->kinds);
    snprintf (e->kinds + used, sizeof e->kinds - used, "%s%s", used ? " " : "", ev->kind);
    if (ev->payload_case == KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED && e->closes < 4) {
        e->closed_at[e->closes] = ev->conversation_closed->closed_at_ms;
        e->closed_count[e->closes] = ev->conversation_closed->message_count;
        e->closed_reason[e->closes] = ev->conversation_closed->reason;
        snprintf (e->closed_by[e->closes], sizeof e->closed_by[0], "%s",
                  ev->conversation_closed->closed_by_agent_id);
        e->closes++;
    }
    if (ev->payload_case == KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED && e->opens < 4)
        e->opened_previous[e->opens++] = ev->conversation_opened->previous_conversation_id;
    return 0;
}

//  Number the plan's new conversations 100, 101, ..., store every item
//  (ACCEPTED, message ids 1000...), and collect the events.
static void
s_finish (intake_conversations_t *plan, intake_item_t *items, int count, int opened,
          s_events_t *events)
{
    int64_t ids[16];
    assert_true (opened <= 16);
    for (int i = 0; i < opened; i++)
        ids[i] = 100 + i;
    intake_conversations_number (plan, ids);
    for (int i = 0; i < count; i++) {
        items[i].status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
        items[i].stored_id = 1000 + i;
    }
    memset (events, 0, sizeof *events);
    assert_int_equal (intake_conversations_events (plan, s_record, events), 0);
}

static void
test_a_first_message_opens_a_conversation (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    s_customer (plan, &items[0])->customer_ref = 7; //  presumed new: nothing read
    assert_int_equal (intake_conversations_walk (plan), 1);
    s_events_t ev;
    s_finish (plan, items, 1, 1, &ev);
    assert_int_equal (items[0].conversation_id, 100);
    assert_int_equal (items[0].customer_ref, 7);
    intake_conv_t *conv = intake_conversations_at (plan, 0);
    assert_true (conv->is_new);
    assert_int_equal (conv->opened_ms, T0);
    assert_int_equal (conv->previous_id, 0);
    assert_int_equal (conv->added, 1);
    assert_string_equal (ev.kinds, "conversation.opened message.accepted");
    intake_conversations_destroy (&plan);
    assert_null (plan);
}

static void
test_a_message_within_the_quiet_period_continues_the_conversation (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 29 * S_MIN)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    c->customer_ref = 7;
    s_answered (plan, c, 50, T0, 3);
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_events_t ev;
    s_finish (plan, items, 1, 0, &ev);
    assert_int_equal (items[0].conversation_id, 50);
    assert_int_equal (intake_conversations_count (plan), 1);
    assert_false (intake_conversations_at (plan, 0)->is_new);
    assert_int_equal (intake_conversations_at (plan, 0)->added, 1);
    assert_string_equal (ev.kinds, "message.accepted");
    intake_conversations_destroy (&plan);
}

static void
test_a_message_after_the_quiet_period_closes_the_conversation_and_opens_another (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 31 * S_MIN)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    c->customer_ref = 7;
    s_answered (plan, c, 50, T0, 3);
    assert_int_equal (intake_conversations_walk (plan), 1);
    assert_true (intake_conversations_closes_any (plan));
    s_events_t ev;
    s_finish (plan, items, 1, 1, &ev);
    intake_conv_t *old = intake_conversations_at (plan, 0);
    assert_int_equal (old->closed_ms, T0 + QUIET); //  its last message + the quiet period
    assert_int_equal (old->close_reason, KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET);
    assert_true (old->touched);
    assert_int_equal (items[0].conversation_id, 100);
    assert_string_equal (ev.kinds, "conversation.closed conversation.opened message.accepted");
    assert_int_equal (ev.closed_at[0], T0 + QUIET);
    assert_int_equal (ev.closed_count[0], 3);
    assert_int_equal (ev.opened_previous[0], 50);
    intake_conversations_destroy (&plan);
}

static void
test_a_returning_customer_opens_a_conversation_after_the_closed_one (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    c->customer_ref = 7;
    s_closed (plan, c, 40, 0, 0);
    assert_int_equal (intake_conversations_walk (plan), 1);
    s_events_t ev;
    s_finish (plan, items, 1, 1, &ev);
    assert_false (intake_conversations_closes_any (plan));
    assert_int_equal (ev.opened_previous[0], 40);
    assert_string_equal (ev.kinds, "conversation.opened message.accepted");
    intake_conversations_destroy (&plan);
}

static void
test_a_close_item_closes_the_open_conversation_by_its_agent (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_CLOSE, "buyer", T0 + 5 * S_MIN)};
    snprintf (items[0].agent_id, sizeof items[0].agent_id, "agent-3");
    items[0].close_reason = KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED;
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    c->customer_ref = 7;
    s_answered (plan, c, 50, T0, 4);
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_events_t ev;
    s_finish (plan, items, 1, 0, &ev);
    assert_int_equal (items[0].conversation_id, 50);
    assert_string_equal (ev.kinds, "conversation.closed");
    assert_int_equal (ev.closed_at[0], T0 + 5 * S_MIN);
    assert_int_equal (ev.closed_reason[0], KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED);
    assert_string_equal (ev.closed_by[0], "agent-3");
    intake_conversations_destroy (&plan);
}

static void
test_a_rating_after_the_close_belongs_to_the_latest_conversation (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_RATING, "buyer", T0)};
    items[0].score = 5;
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    c->customer_ref = 7;
    s_closed (plan, c, 40, 0, 0);
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_events_t ev;
    s_finish (plan, items, 1, 0, &ev);
    assert_int_equal (items[0].conversation_id, 40);
    assert_int_equal (intake_conversations_count (plan), 0);
    assert_string_equal (ev.kinds, "rating.received");
    intake_conversations_destroy (&plan);
}

static void
test_agent_presence_belongs_to_no_conversation (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_PRESENCE, "agent-3", T0)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    assert_null (intake_conversations_first (plan));
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_events_t ev;
    s_finish (plan, items, 1, 0, &ev);
    assert_int_equal (items[0].conversation_id, 0);
    assert_string_equal (ev.kinds, "agent.presence");
    intake_conversations_destroy (&plan);
}

static void
test_the_stored_last_activity_moves_only_a_minute_at_a_time (void **state)
{
    (void) state;
    intake_item_t soon[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 59 * 1000)};
    intake_conversations_t *plan = intake_conversations_new (soon, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &soon[0]);
    s_answered (plan, c, 50, T0, 3);
    intake_conversations_walk (plan);
    assert_false (intake_conversations_at (plan, 0)->touched); //  not rewritten
    assert_int_equal (intake_conversations_at (plan, 0)->last_ms, T0 + 59 * 1000);
    intake_conversations_destroy (&plan);

    intake_item_t later[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 60 * 1000)};
    plan = intake_conversations_new (later, 1, PERIODS);
    c = s_customer (plan, &later[0]);
    s_answered (plan, c, 50, T0, 3);
    intake_conversations_walk (plan);
    assert_true (intake_conversations_at (plan, 0)->touched);
    intake_conversations_destroy (&plan);
}

static void
test_priority_only_rises_and_the_opening_message_gives_the_intent (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 1000),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 2000)};
    items[0].intent = 2;
    items[0].priority = 1;
    items[1].intent = 3;
    items[1].priority = 3;
    items[1].vip = true;
    items[2].priority = 2;
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 1);
    intake_conv_t *conv = intake_conversations_at (plan, 0);
    assert_int_equal (conv->priority, 3);
    assert_int_equal (conv->intent, 2);
    assert_true (conv->vip);
    assert_int_equal (conv->added, 3);
    intake_conversations_destroy (&plan);
}

static void
test_a_remembered_conversation_quiet_too_long_is_read_again (void **state)
{
    (void) state;
    intake_cache_entry_t memory = {
        .customer_ref = 7, .conv_id = 50, .conv_stored_ms = T0, .conv_last_ms = T0};
    intake_item_t late[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 31 * S_MIN)};
    intake_conversations_t *plan = intake_conversations_new (late, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &late[0]);
    assert_false (intake_conversations_recall (plan, c, &memory));
    assert_false (c->cached); //  read from the record
    assert_true (c->known);   //  ... and never presumed new
    intake_conversations_destroy (&plan);

    intake_item_t soon[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 29 * S_MIN)};
    plan = intake_conversations_new (soon, 1, PERIODS);
    c = s_customer (plan, &soon[0]);
    assert_true (intake_conversations_recall (plan, c, &memory));
    assert_true (c->cached);
    assert_int_equal (c->customer_ref, 7);
    assert_int_equal (intake_conversations_walk (plan), 0);
    assert_true (intake_conversations_at (plan, 0)->remembered); //  locked, checked open
    intake_conversations_destroy (&plan);
}

static void
test_events_follow_the_items_in_receive_order (void **state)
{
    (void) state;
    //  A chat, its close, and the customer writing again in one batch.
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0),
                             s_item (INTAKE_KIND_CLOSE, "buyer", T0 + S_MIN),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 2 * S_MIN)};
    items[1].close_reason = KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED;
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 2);
    s_events_t ev;
    s_finish (plan, items, 3, 2, &ev);
    assert_string_equal (ev.kinds, "conversation.opened message.accepted conversation.closed "
                                   "conversation.opened message.accepted");
    assert_int_equal (items[0].conversation_id, 100);
    assert_int_equal (items[2].conversation_id, 101);
    assert_int_equal (ev.closed_count[0], 1);
    assert_int_equal (ev.opened_previous[1], 100);
    intake_conversations_destroy (&plan);
}

static void
test_repeats_and_earlier_deliveries_take_no_part (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0),
                             s_item (INTAKE_KIND_MESSAGE, "other", T0)};
    items[1].dup_of = 0;
    items[2].status = KEFU__V1__ACK_STATUS__ACK_DUPLICATE;
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 1);
    assert_int_equal (intake_conversations_at (plan, 0)->added, 1);
    char key[400];
    intake_conversations_key (&items[2], key, sizeof key);
    assert_null (intake_conversations_lookup (plan, key));
    intake_conversations_destroy (&plan);
}

static void
test_the_memory_after_a_commit_keeps_the_open_conversation (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    intake_cache_entry_t e;
    assert_false (intake_conversations_memory (c, &e)); //  no customer id yet: forget
    c->customer_ref = 7;
    int64_t id = 100;
    intake_conversations_walk (plan);
    intake_conversations_number (plan, &id);
    assert_true (intake_conversations_memory (c, &e));
    assert_int_equal (e.customer_ref, 7);
    assert_int_equal (e.conv_id, 100);
    assert_int_equal (e.conv_last_ms, T0);
    assert_int_equal (e.conv_stored_ms, T0);
    intake_conversations_destroy (&plan);
}

//  Received together, long after: the platform's times decide.
static void
test_membership_and_the_quiet_period_go_by_sent_at (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0),
                             s_item (INTAKE_KIND_REPLY, "buyer", T0 + S_MIN),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 32 * S_MIN),
                             s_item (INTAKE_KIND_MESSAGE, "other", T0),
                             s_item (INTAKE_KIND_REPLY, "other", T0 + 29 * S_MIN)};
    for (int i = 0; i < 5; i++)
        items[i].received_at = T0 + 3 * S_HOUR + (i < 3 ? 0 : 40 * S_MIN * (i - 3));
    intake_conversations_t *plan = intake_conversations_new (items, 5, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 3);
    s_events_t ev;
    s_finish (plan, items, 5, 3, &ev);
    assert_int_equal (items[0].conversation_id, items[1].conversation_id);
    assert_true (items[2].conversation_id != items[0].conversation_id);
    assert_int_equal (items[3].conversation_id, items[4].conversation_id); //  29 min apart
    const intake_outcome_t *back = intake_conversations_outcome (plan, 2);
    assert_non_null (back->closed_prev);
    assert_int_equal (back->closed_prev->closed_ms, T0 + 31 * S_MIN); //  reply + quiet
    assert_int_equal (back->opened->opened_ms, T0 + 32 * S_MIN);
    assert_int_equal (back->closed_prev->last_ms, T0 + S_MIN);
    intake_conversations_destroy (&plan);
}

//  A backfill in any order gives the conversations of the items in order.
static void
test_items_out_of_order_give_the_conversations_of_items_in_order (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 32 * S_MIN),
                             s_item (INTAKE_KIND_REPLY, "buyer", T0 + S_MIN),
                             s_item (INTAKE_KIND_MESSAGE, "buyer", T0)};
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 2);
    s_events_t ev;
    s_finish (plan, items, 3, 2, &ev);
    assert_int_equal (items[2].conversation_id, 100);
    assert_int_equal (items[1].conversation_id, 100);
    assert_int_equal (items[0].conversation_id, 101);
    assert_string_equal (ev.kinds, "conversation.opened message.accepted message.accepted "
                                   "conversation.closed conversation.opened message.accepted");
    assert_int_equal (ev.closed_at[0], T0 + 31 * S_MIN);
    assert_int_equal (intake_conversations_at (plan, 0)->opened_ms, T0);
    intake_conversations_destroy (&plan);
}

//  23:50 unanswered (an auto-reply answers nobody), answered at 08:36: one
//  conversation.
static void
test_the_quiet_period_does_not_run_while_the_customer_waits (void **state)
{
    (void) state;
    int64_t night = T0 + 15 * S_HOUR + 50 * S_MIN;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", night),
                             s_item (INTAKE_KIND_REPLY, "buyer", night + 1000),
                             s_item (INTAKE_KIND_REPLY, "buyer", night + 8 * S_HOUR + 46 * S_MIN)};
    items[1].auto_reply = true;
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    assert_int_equal (intake_conversations_walk (plan), 1);
    assert_false (intake_conversations_closes_any (plan));
    intake_conv_t *conv = intake_conversations_at (plan, 0);
    assert_int_equal (conv->added, 3);
    assert_int_equal (conv->opened_ms, night);
    assert_int_equal (conv->reply_ms, night + 8 * S_HOUR + 46 * S_MIN);
    intake_conversations_destroy (&plan);

    //  Answered, the quiet period runs again.
    intake_item_t later[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 31 * S_MIN)};
    plan = intake_conversations_new (later, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &later[0]);
    s_answered (plan, c, 50, T0, 3);
    assert_int_equal (intake_conversations_walk (plan), 1);
    intake_conversations_destroy (&plan);
}

static void
test_an_unanswered_conversation_closes_abandoned_after_the_abandon_limit (void **state)
{
    (void) state;
    intake_conv_record_t waiting = {.id = 50,
                                    .open = true,
                                    .opened_ms = T0,
                                    .stored_last_ms = T0,
                                    .last_ms = T0,
                                    .customer_ms = T0,
                                    .reply_ms = 0,
                                    .message_count = 1};
    intake_item_t soon[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + ABANDON)};
    intake_conversations_t *plan = intake_conversations_new (soon, 1, PERIODS);
    intake_conversations_latest (plan, s_customer (plan, &soon[0]), &waiting);
    assert_int_equal (intake_conversations_walk (plan), 0); //  still waiting: same one
    intake_conversations_destroy (&plan);

    intake_item_t late[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + ABANDON + 1)};
    plan = intake_conversations_new (late, 1, PERIODS);
    intake_conversations_latest (plan, s_customer (plan, &late[0]), &waiting);
    assert_int_equal (intake_conversations_walk (plan), 1);
    s_events_t ev;
    s_finish (plan, late, 1, 1, &ev);
    assert_string_equal (ev.kinds, "conversation.closed conversation.opened message.accepted");
    assert_int_equal (ev.closed_at[0], T0 + ABANDON);
    assert_int_equal (ev.closed_reason[0], KEFU__V1__CLOSE_REASON__CLOSE_REASON_ABANDONED);
    assert_int_equal (ev.opened_previous[0], 50);
    intake_conversations_destroy (&plan);
}

//  A close item after the expiry finds the conversation closed by the
//  quiet period, as the sweep would have left it.
static void
test_a_close_after_the_expiry_finds_the_conversation_closed_quiet (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_CLOSE, "buyer", T0 + 2 * S_HOUR)};
    items[0].close_reason = KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED;
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    s_answered (plan, s_customer (plan, &items[0]), 50, T0, 4);
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_events_t ev;
    s_finish (plan, items, 1, 0, &ev);
    assert_string_equal (ev.kinds, "conversation.closed");
    assert_int_equal (ev.closed_at[0], T0 + QUIET);
    assert_int_equal (ev.closed_reason[0], KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET);
    intake_conversations_destroy (&plan);
}

//  The customer wrote again (a new conversation) before the rating of the
//  previous one arrived: the rating goes to the conversation it rates.
static void
test_a_late_rating_belongs_to_the_conversation_it_rates (void **state)
{
    (void) state;
    intake_item_t items[] = {s_item (INTAKE_KIND_MESSAGE, "buyer", T0 + 2 * S_HOUR),
                             s_item (INTAKE_KIND_RATING, "buyer", T0 + 40 * S_MIN),
                             s_item (INTAKE_KIND_RATING, "buyer", T0 + 2 * S_HOUR + S_MIN)};
    items[1].score = 5;
    items[2].score = 4;
    for (int i = 0; i < 3; i++)
        items[i].received_at = T0 + 3 * S_HOUR + i;
    intake_conversations_t *plan = intake_conversations_new (items, 3, PERIODS);
    s_answered (plan, s_customer (plan, &items[0]), 50, T0, 4);
    assert_int_equal (intake_conversations_walk (plan), 1);
    s_events_t ev;
    s_finish (plan, items, 3, 1, &ev);
    assert_int_equal (items[0].conversation_id, 100);
    assert_int_equal (items[1].conversation_id, 50);  //  closed at T0 + 30 min, rated at + 40
    assert_int_equal (items[2].conversation_id, 100); //  sent while the new one was open
    intake_conversations_destroy (&plan);

    //  The record's latest opened after the rating was sent: the one before.
    intake_item_t rating[] = {s_item (INTAKE_KIND_RATING, "buyer", T0)};
    rating[0].score = 5;
    plan = intake_conversations_new (rating, 1, PERIODS);
    s_closed (plan, s_customer (plan, &rating[0]), 40, T0 + S_HOUR, 39);
    assert_int_equal (intake_conversations_walk (plan), 0);
    s_finish (plan, rating, 1, 0, &ev);
    assert_int_equal (rating[0].conversation_id, 39);
    intake_conversations_destroy (&plan);
}

//  A remembered conversation whose customer waits stays usable until the
//  abandon limit.
static void
test_a_remembered_waiting_conversation_is_used_until_the_abandon_limit (void **state)
{
    (void) state;
    intake_cache_entry_t memory = {.customer_ref = 7,
                                   .conv_id = 50,
                                   .conv_stored_ms = T0,
                                   .conv_last_ms = T0,
                                   .conv_opened_ms = T0,
                                   .conv_customer_ms = T0};
    intake_item_t items[] = {s_item (INTAKE_KIND_REPLY, "buyer", T0 + 9 * S_HOUR)};
    intake_conversations_t *plan = intake_conversations_new (items, 1, PERIODS);
    intake_customer_t *c = s_customer (plan, &items[0]);
    assert_true (intake_conversations_recall (plan, c, &memory));
    assert_int_equal (intake_conversations_walk (plan), 0);
    assert_int_equal (intake_conversations_at (plan, 0)->reply_ms, T0 + 9 * S_HOUR);
    intake_conversations_destroy (&plan);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_first_message_opens_a_conversation),
        cmocka_unit_test (test_a_message_within_the_quiet_period_continues_the_conversation),
        cmocka_unit_test (
            test_a_message_after_the_quiet_period_closes_the_conversation_and_opens_another),
        cmocka_unit_test (test_a_returning_customer_opens_a_conversation_after_the_closed_one),
        cmocka_unit_test (test_a_close_item_closes_the_open_conversation_by_its_agent),
        cmocka_unit_test (test_a_rating_after_the_close_belongs_to_the_latest_conversation),
        cmocka_unit_test (test_agent_presence_belongs_to_no_conversation),
        cmocka_unit_test (test_the_stored_last_activity_moves_only_a_minute_at_a_time),
        cmocka_unit_test (test_priority_only_rises_and_the_opening_message_gives_the_intent),
        cmocka_unit_test (test_a_remembered_conversation_quiet_too_long_is_read_again),
        cmocka_unit_test (test_events_follow_the_items_in_receive_order),
        cmocka_unit_test (test_repeats_and_earlier_deliveries_take_no_part),
        cmocka_unit_test (test_the_memory_after_a_commit_keeps_the_open_conversation),
        cmocka_unit_test (test_membership_and_the_quiet_period_go_by_sent_at),
        cmocka_unit_test (test_items_out_of_order_give_the_conversations_of_items_in_order),
        cmocka_unit_test (test_the_quiet_period_does_not_run_while_the_customer_waits),
        cmocka_unit_test (test_an_unanswered_conversation_closes_abandoned_after_the_abandon_limit),
        cmocka_unit_test (test_a_close_after_the_expiry_finds_the_conversation_closed_quiet),
        cmocka_unit_test (test_a_late_rating_belongs_to_the_conversation_it_rates),
        cmocka_unit_test (test_a_remembered_waiting_conversation_is_used_until_the_abandon_limit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
