/*  test_intake_flow — intake end to end over real sockets and PostgreSQL.

    A raw DEALER plays the gateway (so every byte it sends is under the
    test's control): Hello, items of every kind, duplicates, every error
    code from an input that deserves it, byte-identical storage of CJK,
    emoji, combining marks and SQL metacharacters, the events written, the
    quiet period with a driven clock, and the counters in the status. */
#include "kefu/v1/control.pb-c.h"
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_control.h"
#include "kf_log.h"
#include "kf_wire.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <libpq-fe.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "tmall-hzfs"

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service
    kf_clock_t *clock;   //  driven clock
    zsock_t *gw;         //  the raw gateway
    int64_t seq;         //  for unique ids
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_flow");
    kt_shop_add (f->db, SHOP);
    kt_shop_add (f->db, "jd-other");
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    f->intake->config.max_body = 8192;
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->gw);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

typedef struct {
    const char *id;       //  gateway_msg_id (NULL: generated)
    const char *shop;     //  NULL: SHOP
    int channel;          //  0: platform chat
    int64_t sent_at;      //  0: the clock's now
    const char *customer; //  NULL: "tb_buyer_1"
    const uint8_t *body;  //  raw body bytes
    size_t body_len;      //  their length (0 with body NULL: no body)
    const char *name;     //  customer's display name (NULL: none)
    bool vip;             //  VIP customer
} s_msg_t;

//  Send a customer message with gateway_msg_id id; the ack is not awaited.
static void
s_send (fixture_t *f, const s_msg_t *m, const char *id)
{
    Kefu__V1__CustomerMessage cm = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    cm.customer_id = kt_text (m->customer ? m->customer : "tb_buyer_1");
    cm.body = (ProtobufCBinaryData){m->body_len, (uint8_t *) m->body};
    if (m->name)
        cm.customer_name = kt_text (m->name);
    cm.vip = m->vip;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    item.shop_id = kt_text (m->shop ? m->shop : SHOP);
    item.gateway_msg_id = kt_text (id);
    item.sent_at_ms = m->sent_at ? m->sent_at : kf_clock_now_ms (f->clock);
    item.channel = m->channel ? m->channel : KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    item.customer_message = &cm;
    kt_gw_send_item (f->gw, &item);
}

//  Send a customer message, return the ack (caller frees).
static Kefu__V1__IntakeFrame *
s_message (fixture_t *f, const s_msg_t *m, char *id_out)
{
    char id[64];
    if (m->id)
        snprintf (id, sizeof id, "%s", m->id);
    else
        snprintf (id, sizeof id, "m-%lld", (long long) ++f->seq);
    if (id_out)
        strcpy (id_out, id);
    s_send (f, m, id);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    assert_int_equal (in->ack->gateway_msg_id.len, strlen (id));
    assert_memory_equal (in->ack->gateway_msg_id.data, id, strlen (id));
    return in;
}

//  Send a customer message that must be ACCEPTED; returns its stored id.
static int64_t
s_accept (fixture_t *f, const s_msg_t *m, char *id_out)
{
    Kefu__V1__IntakeFrame *in = s_message (f, m, id_out);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    int64_t stored = in->ack->stored_id;
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    return stored;
}

static void
s_expect (fixture_t *f, const s_msg_t *m, int status, int code)
{
    Kefu__V1__IntakeFrame *in = s_message (f, m, NULL);
    if ((int) in->ack->status != status || (int) in->ack->code != code)
        fail_msg ("expected status %d code %d, got status %d code %d (%s)", status, code,
                  in->ack->status, in->ack->code, in->ack->reason);
    if (status == KEFU__V1__ACK_STATUS__ACK_REJECTED)
        assert_true (strlen (in->ack->reason) > 0);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
}

static void
s_expect_text (fixture_t *f, const char *body, int status, int code)
{
    s_msg_t m = {0};
    m.body = (const uint8_t *) body;
    m.body_len = strlen (body);
    s_expect (f, &m, status, code);
}

//  ---------------------------------------------------------------------

static void
test_text_is_stored_byte_identical (void **state)
{
    fixture_t *f = *state;
    const char *bodies[] = {
        "亲，这件衣服有M码吗？",                              //  CJK
        "好评！😀👍🏽 谢谢",                       //  4-byte emoji, modifier
        "cafe\xcc\x81 na\xc3\xafve e\xcc\x81\xcc\x80",        //  combining marks
        "'; DROP TABLE messages; -- \\ \" $1 %_ E'\\x00' ''", //  SQL metacharacters
        "\xef\xbf\xbd \xf4\x8f\xbf\xbf",                      //  U+FFFD, U+10FFFF
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        s_msg_t m = {0};
        m.body = (const uint8_t *) bodies[i];
        m.body_len = strlen (bodies[i]);
        char id[64];
        Kefu__V1__IntakeFrame *in = s_message (f, &m, id);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        assert_true (in->ack->stored_id > 0);
        char sql[256];
        snprintf (sql, sizeof sql,
                  "SELECT encode (convert_to (body, 'UTF8'), 'hex') FROM messages "
                  "WHERE message_id = %lld",
                  (long long) in->ack->stored_id);
        char *hex = kt_db_query1 (f->db, sql);
        char expected[1024] = "";
        for (size_t k = 0; k < strlen (bodies[i]); k++)
            sprintf (expected + 2 * k, "%02x", (unsigned char) bodies[i][k]);
        assert_string_equal (hex, expected);
        free (hex);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    //  The schema survived the metacharacters.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 5);
}

static void
test_duplicates_keep_the_first (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {0};
    m.id = "dup-1";
    m.body = (const uint8_t *) "在吗";
    m.body_len = strlen ("在吗");
    Kefu__V1__IntakeFrame *first = s_message (f, &m, NULL);
    assert_int_equal (first->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    Kefu__V1__IntakeFrame *again = s_message (f, &m, NULL);
    assert_int_equal (again->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (again->ack->stored_id, first->ack->stored_id);
    //  Same id, different body: DUPLICATE, first body kept, conflict counted.
    m.body = (const uint8_t *) "别的内容";
    m.body_len = strlen ("别的内容");
    Kefu__V1__IntakeFrame *conflict = s_message (f, &m, NULL);
    assert_int_equal (conflict->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (conflict->ack->stored_id, first->ack->stored_id);
    char *body = kt_db_query1 (f->db, "SELECT body || '|' || body_conflicts FROM messages "
                                      "WHERE gateway_msg_id = 'dup-1'");
    assert_string_equal (body, "在吗|1");
    free (body);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages "
                                          "WHERE gateway_msg_id = 'dup-1'"),
                      1);
    //  Development mode (no keys): any connection may say any gateway id,
    //  and no principal is recorded.
    zsock_t *own = f->gw;
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    Kefu__V1__IntakeFrame *other = s_message (f, &m, NULL);
    assert_int_equal (other->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    kefu__v1__intake_frame__free_unpacked (other, NULL);
    zsock_destroy (&f->gw);
    f->gw = own;
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages "
                                          "WHERE principal_id IS NOT NULL"),
                      0);
    kefu__v1__intake_frame__free_unpacked (first, NULL);
    kefu__v1__intake_frame__free_unpacked (again, NULL);
    kefu__v1__intake_frame__free_unpacked (conflict, NULL);
}

static void
test_every_error_code_has_a_cause (void **state)
{
    fixture_t *f = *state;
    const int REJ = KEFU__V1__ACK_STATUS__ACK_REJECTED;
    s_msg_t m = {0};
    m.body = (const uint8_t *) "hi";
    m.body_len = 2;

    m.shop = "no-such-shop";
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP);
    m.shop = "BAD SHOP";
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP);
    m.shop = NULL;

    s_msg_t empty = {0};
    s_expect (f, &empty, REJ, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD);

    const char *invalid[] = {"\xc0\x80", "\xed\xa0\x80",     "ab\xe4\xb8",
                             "\x80x",    "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        s_expect_text (f, invalid[i], REJ, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8);

    s_msg_t nul = {0};
    nul.body = (const uint8_t *) "ab\0cd";
    nul.body_len = 5;
    s_expect (f, &nul, REJ, KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL);

    char *big = malloc (8193);
    memset (big, 'a', 8193);
    s_msg_t large = {0};
    large.body = (const uint8_t *) big;
    large.body_len = 8193;
    s_expect (f, &large, REJ, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG);
    large.body_len = 8192; //  exactly the limit is fine
    s_expect (f, &large, KEFU__V1__ACK_STATUS__ACK_ACCEPTED, 0);
    free (big);

    m.channel = 99;
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM);
    m.channel = 0;

    int64_t now = kf_clock_now_ms (f->clock);
    m.sent_at = now - 31LL * 86400000;
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW);
    m.sent_at = now + 25LL * 3600000;
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW);
    m.sent_at = INT64_MIN + 1;
    s_expect (f, &m, REJ, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW);
    m.sent_at = 0;

    //  CSAT outside 1..5.
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    rating.customer_id = kt_text ("tb_buyer_1");
    rating.score = 9;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text ("rating-bad");
    item.sent_at_ms = now;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING;
    item.customer_rating = &rating;
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
    frame.item = &item;
    kt_gw_send (f->gw, &frame);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  Not a protobuf at all.
    zstr_send (f->gw, "\xff\xff\xff garbage");
    in = kt_gw_recv (f->gw);
    assert_int_equal (in->ack->status, REJ);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_MALFORMED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  A frame over the limit (but under the disconnect limit).
    size_t over = (size_t) f->intake->config.max_frame + 10;
    zframe_t *huge = zframe_new (NULL, over);
    memset (zframe_data (huge), 0, over);
    zframe_send (&huge, f->gw, 0);
    in = kt_gw_recv (f->gw);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  Two frames instead of one: dropped, counted, never answered.
    zstr_sendx (f->gw, "one", "two", NULL);
    assert_true (kt_gw_silent (f->gw, 300));

    //  An item before Hello on a new connection: say Hello first.
    zsock_t *stranger = zsock_new_dealer (f->intake->gateway_endpoint);
    kt_gw_send (stranger, &frame);
    in = kt_gw_recv (stranger);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  A Hello with a version intake does not speak.
    Kefu__V1__Hello hello = KEFU__V1__HELLO__INIT;
    hello.gateway_id = kt_text ("future-gw");
    hello.protocol_version = 2;
    Kefu__V1__GatewayFrame hf = KEFU__V1__GATEWAY_FRAME__INIT;
    hf.body_case = KEFU__V1__GATEWAY_FRAME__BODY_HELLO;
    hf.hello = &hello;
    kt_gw_send (stranger, &hf);
    in = kt_gw_recv (stranger);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_REJECT);
    assert_int_equal (in->reject->code, KEFU__V1__ERROR_CODE__ERROR_PROTOCOL_VERSION);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    zsock_destroy (&stranger);

    //  Nothing invalid was stored, and PostgreSQL never saw bad text.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 1);

    //  The status shows rejections per code.
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__StatusRequest sr = KEFU__V1__STATUS_REQUEST__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_STATUS;
    req.status = &sr;
    Kefu__V1__ControlReply *reply = kf_control_call (f->intake->control_endpoint, &req, 5000);
    assert_non_null (reply);
    assert_true (reply->status->insecure);
    int64_t utf8 = -1, bad_framing = -1, unknown_shop = -1;
    for (size_t i = 0; i < reply->status->n_counters; i++) {
        const Kefu__V1__Counter *c = reply->status->counters[i];
        if (strcmp (c->name, "items.rejected.invalid_utf8") == 0)
            utf8 = c->value;
        if (strcmp (c->name, "frames.bad_framing") == 0)
            bad_framing = c->value;
        if (strcmp (c->name, "items.rejected.unknown_shop") == 0)
            unknown_shop = c->value;
    }
    assert_int_equal (utf8, 6);
    assert_int_equal (bad_framing, 1);
    assert_int_equal (unknown_shop, 2);
    kefu__v1__control_reply__free_unpacked (reply, NULL);
}

//  A whole conversation: message, reply with a forbidden phrase, presence,
//  close, rating; the customer record and the events.
static void
test_conversation_record_and_events (void **state)
{
    fixture_t *f = *state;
    int64_t now = kf_clock_now_ms (f->clock);
    s_msg_t m = {0};
    m.customer = "tb_lily88";
    m.body = (const uint8_t *) "我要投诉，快递三天了还没到，要退款";
    m.body_len = strlen ((const char *) m.body);
    s_accept (f, &m, NULL);

    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    reply.customer_id = kt_text ("tb_lily88");
    reply.agent_id = kt_text ("xiaomei");
    reply.body = kt_text ("亲，这不是我们的问题，没办法");
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    presence.agent_id = kt_text ("xiaomei");
    presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE;
    presence.handover_note = kt_text ("tb_lily88 投诉物流，请跟进");
    Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
    close.customer_id = kt_text ("tb_lily88");
    close.agent_id = kt_text ("xiaomei");
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    rating.customer_id = kt_text ("tb_lily88");
    rating.score = 2;
    rating.comment = kt_text ("太慢了");

    Kefu__V1__InboundItem items[4];
    const char *ids[] = {"r-1", "p-1", "c-1", "s-1"};
    for (int i = 0; i < 4; i++) {
        kefu__v1__inbound_item__init (&items[i]);
        items[i].shop_id = kt_text (SHOP);
        items[i].gateway_msg_id = kt_text (ids[i]);
        items[i].sent_at_ms = now;
        items[i].channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    }
    items[0].kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    items[0].agent_reply = &reply;
    items[1].kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    items[1].agent_presence = &presence;
    items[2].kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
    items[2].conversation_close = &close;
    items[3].kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING;
    items[3].customer_rating = &rating;
    //  Sent back to back: they may share one batch.
    for (int i = 0; i < 4; i++) {
        Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
        frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
        frame.item = &items[i];
        kt_gw_send (f->gw, &frame);
    }
    for (int i = 0; i < 4; i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    //  Classification stored with the message.
    assert_int_equal (kt_db_count (f->db,
                                   "SELECT intent FROM messages WHERE kind = 1 AND "
                                   "customer_id IS NOT NULL ORDER BY message_id DESC LIMIT 1"),
                      KEFU__V1__INTENT__INTENT_COMPLAINT);
    char *flags = kt_db_query1 (f->db, "SELECT array_to_string (qa_flags, ',') FROM messages "
                                       "WHERE gateway_msg_id = 'r-1'");
    assert_non_null (strstr (flags, "mei_ban_fa"));
    free (flags);
    //  One conversation, opened by the message, closed by the close, rated.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations WHERE "
                                          "channel_customer_id = 'tb_lily88'"),
                      1);
    char *conv = kt_db_query1 (f->db, "SELECT message_count || ',' || close_reason || ',' || "
                                      "closed_by || ',' || priority FROM conversations WHERE "
                                      "channel_customer_id = 'tb_lily88'");
    char expected[64];
    snprintf (expected, sizeof expected, "2,%d,xiaomei,%d",
              KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED, KEFU__V1__PRIORITY__PRIORITY_URGENT);
    assert_string_equal (conv, expected);
    free (conv);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages m JOIN conversations c "
                                          "USING (shop_id, conversation_id) WHERE m.kind = 4 AND "
                                          "c.channel_customer_id = 'tb_lily88'"),
                      1);
    //  The customer record (客户档案).
    assert_int_equal (kt_db_count (f->db, "SELECT p.message_count FROM customer_profiles p JOIN "
                                          "customer_channels USING (shop_id, customer_id) "
                                          "WHERE channel_customer_id = 'tb_lily88'"),
                      1);
    //  Events: the conversation's in order (opened, message, reply, closed,
    //  rating), and the presence change. Items of one customer are stored
    //  in the order they arrived; the agent's presence may be stored by the
    //  other writer before or after them.
#define S_LAST_SIX                                                                                 \
    "FROM events e WHERE stream = 'intake' AND seq > (SELECT coalesce (max (seq), 0) - 6 "         \
    "FROM events WHERE partition = e.partition)"
    char *kinds = kt_db_query1 (f->db, "SELECT string_agg (kind, ' ' ORDER BY seq) " S_LAST_SIX
                                       " AND kind <> 'agent.presence'");
    assert_string_equal (kinds, "conversation.opened message.accepted message.accepted "
                                "conversation.closed rating.received");
    free (kinds);
    assert_int_equal (
        kt_db_count (f->db, "SELECT count(*) " S_LAST_SIX " AND kind = 'agent.presence'"), 1);
#undef S_LAST_SIX
}

//  An agent's reply to customer, sent now.
static void
s_reply (fixture_t *f, const char *customer)
{
    Kefu__V1__AgentReply r = KEFU__V1__AGENT_REPLY__INIT;
    r.customer_id = kt_text (customer);
    r.agent_id = kt_text ("xiaomei");
    r.body = kt_text ("亲，有的");
    char id[64];
    snprintf (id, sizeof id, "r-%lld", (long long) ++f->seq);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text (id);
    item.sent_at_ms = kf_clock_now_ms (f->clock);
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    item.agent_reply = &r;
    kt_gw_push (f->gw, &item);
}

//  customer's only conversation is closed, for reason, seconds after its
//  last message.
static void
s_closed_as (fixture_t *f, const char *customer, int reason, int seconds)
{
    const char *values[] = {customer};
    char *got =
        kt_db_query1p (f->db,
                       "SELECT close_reason || ' ' || extract (epoch FROM closed_at - "
                       "last_message_at)::int FROM conversations WHERE channel_customer_id = $1",
                       1, values);
    char want[32];
    snprintf (want, sizeof want, "%d %d", reason, seconds);
    assert_string_equal (got, want);
    free (got);
}

//  The quiet period closes an answered conversation without any new
//  message (once the shop's items, or intake's clock less the catch-up
//  time, are past it); the next message opens a new one that points back
//  at it.
static void
test_quiet_period_with_driven_clock (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {0};
    m.customer = "wx_quiet";
    m.body = (const uint8_t *) "有货吗";
    m.body_len = strlen ("有货吗");
    s_accept (f, &m, NULL);
    s_reply (f, "wx_quiet");
    const char *open_sql = "SELECT count(*) FROM conversations WHERE channel_customer_id = "
                           "'wx_quiet' AND closed_at IS NULL";
    assert_int_equal (kt_db_count (f->db, open_sql), 1);

    //  29 minutes later: still open.
    kt_intake_advance (f->intake, 29 * 60000);
    assert_int_equal (kt_db_count (f->db, open_sql), 1);
    //  31 minutes, nothing else came: the shop's newest item is the reply,
    //  and intake waits the catch-up time (an hour) for late ones.
    kt_intake_advance (f->intake, 2 * 60000);
    assert_int_equal (kt_db_count (f->db, open_sql), 1);

    //  Past the catch-up time: closed by the sweep, reason quiet, at the
    //  last message + 30 min.
    kt_intake_advance (f->intake, 60 * 60000);
    assert_int_equal (kt_db_count (f->db, open_sql), 0);
    s_closed_as (f, "wx_quiet", KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET, 1800);

    //  The customer comes back: a new conversation following the old one.
    s_accept (f, &m, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations WHERE "
                                          "channel_customer_id = 'wx_quiet'"),
                      2);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations a JOIN conversations "
                                          "b ON b.previous_conversation_id = a.conversation_id "
                                          "WHERE a.channel_customer_id = 'wx_quiet'"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT p.message_count FROM customer_profiles p JOIN "
                                          "customer_channels USING (shop_id, customer_id) "
                                          "WHERE channel_customer_id = 'wx_quiet'"),
                      2);
    //  The writer did not trust its memory of a conversation quiet for that
    //  long: it read the record instead of failing on the closed one; nor
    //  did it take the customer it remembers for a new one.
    assert_int_equal (kt_intake_counter (f->intake, "batches.cache_stale", NULL), 0);
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);
}

//  The sweep leaves the conversation of a customer still waiting for a
//  reply open past the quiet period, and closes it abandoned at its last
//  message + KEFU_INTAKE_ABANDON_AFTER.
static void
test_the_sweep_closes_an_unanswered_conversation_abandoned (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {0};
    m.customer = "wx_waiting";
    m.body = (const uint8_t *) "在吗";
    m.body_len = strlen ("在吗");
    s_accept (f, &m, NULL);
    const char *open_sql = "SELECT count(*) FROM conversations WHERE channel_customer_id = "
                           "'wx_waiting' AND closed_at IS NULL";
    kt_intake_advance (f->intake, 3 * 3600000); //  quiet period and catch-up time long past
    assert_int_equal (kt_db_count (f->db, open_sql), 1);
    kt_intake_advance (f->intake, 3 * 3600000); //  a later sweep passes it by (quiet_until)
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations WHERE "
                                          "channel_customer_id = 'wx_waiting' AND quiet_until = "
                                          "last_message_at + interval '24 hours'"),
                      1);
    kt_intake_advance (f->intake, 20 * 3600000);
    assert_int_equal (kt_db_count (f->db, open_sql), 0);
    s_closed_as (f, "wx_waiting", KEFU__V1__CLOSE_REASON__CLOSE_REASON_ABANDONED, 86400);
}

//  A writer remembers the customers it stored and takes their next
//  messages in one round trip; what it remembers is only a hint. A
//  conversation closed behind its back (another intake instance, an
//  operator) is noticed and the message opens a new conversation; a resent
//  message is still a DUPLICATE of the original.
static void
test_writer_memory_is_only_a_hint (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {0};
    m.customer = "tb_regular";
    m.body = (const uint8_t *) "在吗？";
    m.body_len = strlen ("在吗？");
    s_accept (f, &m, NULL);
    int64_t warm = kt_intake_counter (f->intake, "batches.warm", NULL);
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.warm", NULL), warm + 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(DISTINCT conversation_id) FROM messages m "
                                          "JOIN customer_channels c USING (shop_id, customer_id) "
                                          "WHERE c.channel_customer_id = 'tb_regular'"),
                      1);

    //  Closed elsewhere, within the quiet period.
    assert_int_equal (kt_db_count (f->db, "UPDATE conversations SET closed_at = now (), "
                                          "close_reason = 2, closed_by = 'xiaomei' WHERE "
                                          "channel_customer_id = 'tb_regular' RETURNING 1"),
                      1);
    int64_t stale = kt_intake_counter (f->intake, "batches.cache_stale", NULL);
    char id[64];
    int64_t stored = s_accept (f, &m, id);
    assert_int_equal (kt_intake_counter (f->intake, "batches.cache_stale", NULL), stale + 1);
    const char *per_conversation =
        "SELECT string_agg (n::text, ',' ORDER BY conversation_id) FROM (SELECT "
        "conversation_id, count(*) AS n FROM messages m JOIN customer_channels c "
        "USING (shop_id, customer_id) WHERE c.channel_customer_id = 'tb_regular' "
        "GROUP BY conversation_id) t";
    char *counts = kt_db_query1 (f->db, per_conversation);
    assert_string_equal (counts, "2,1"); //  the closed one kept its two
    free (counts);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations a JOIN conversations "
                                          "b ON b.previous_conversation_id = a.conversation_id "
                                          "WHERE a.channel_customer_id = 'tb_regular' "
                                          "AND b.closed_at IS NULL"),
                      1);

    //  The last message sent again: remembered customer, but a DUPLICATE.
    m.id = id;
    Kefu__V1__IntakeFrame *in = s_message (f, &m, NULL);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (in->ack->stored_id, stored);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.cache_stale", NULL), stale + 1);
    counts = kt_db_query1 (f->db, per_conversation);
    assert_string_equal (counts, "2,1");
    free (counts);
}

//  Customers intake does not remember are presumed new and stored in the
//  same round trip as their messages. After a restart intake remembers no
//  conversation, but it knows which customers the record holds (it loads
//  their keys): a returning customer is read, continuing the open
//  conversation, never presumed new (a presumption that fails on the
//  unique key is an ERROR in PostgreSQL's log), and a new one is still
//  presumed new.
static void
test_unknown_customers_presumed_new (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {.body = (const uint8_t *) "你好，在吗", .body_len = strlen ("你好，在吗")};
    int64_t warm = kt_intake_counter (f->intake, "batches.warm", NULL);
    m.customer = "tb_first_time";
    s_accept (f, &m, NULL);
    m.customer = "tb_second_time";
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "customers.presumed_new", NULL), 2);
    assert_int_equal (kt_intake_counter (f->intake, "batches.warm", NULL), warm + 2);
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);

    //  Restarted: its memory is gone.
    zsock_destroy (&f->gw);
    kt_intake_destroy (&f->intake);
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);

    //  The record's two customers are known (kt_intake_start waits for
    //  the keys to be loaded).
    assert_int_equal (kt_intake_counter (f->intake, "customers.keys_ready", NULL), 1);
    assert_int_equal (kt_intake_counter (f->intake, "customers.keys_loaded", NULL), 2);
    long mark = kt_db_log_mark ();
    m.customer = "tb_first_time";
    s_accept (f, &m, NULL);
    m.customer = "tb_second_time";
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);
    assert_int_equal (kt_intake_counter (f->intake, "customers.presumed_new", NULL), 0);
    m.customer = "tb_third_time";
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);
    assert_int_equal (kt_intake_counter (f->intake, "customers.presumed_new", NULL), 1);
    char first[4096];
    if (kt_db_log_errors ("intake_flow", mark, first, sizeof first) != 0)
        fail_msg ("PostgreSQL logged an error: %s", first);

    //  One customer record each, the first two with one conversation of
    //  two messages.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customers"), 3);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customer_channels"), 3);
    char *counts = kt_db_query1 (f->db, "SELECT string_agg (channel_customer_id || ':' || "
                                        "message_count, ',' ORDER BY channel_customer_id) FROM "
                                        "(SELECT channel_customer_id, count(*) AS message_count "
                                        "FROM conversations c JOIN messages m "
                                        "USING (shop_id, conversation_id) "
                                        "GROUP BY channel_customer_id, conversation_id) t");
    assert_string_equal (counts, "tb_first_time:2,tb_second_time:2,tb_third_time:1");
    free (counts);
}

//  A remembered customer whose display name or VIP flag changes is the
//  same customer: the change is an update of the record in the batch's one
//  round trip, never a presumption of a new customer (which would fail on
//  the unique key, log an ERROR in PostgreSQL and redo the batch).
static void
test_renamed_customer_is_updated_in_the_same_round_trip (void **state)
{
    fixture_t *f = *state;
    s_msg_t m = {.customer = "tb_renamed",
                 .name = "lily",
                 .body = (const uint8_t *) "在吗",
                 .body_len = strlen ("在吗")};
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "customers.presumed_new", NULL), 1);
    long mark = kt_db_log_mark ();
    int64_t warm = kt_intake_counter (f->intake, "batches.warm", NULL);
    m.name = "lily 莉莉";
    s_accept (f, &m, NULL);
    m.name = NULL; //  no name: the stored one stays
    m.vip = true;
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);
    assert_int_equal (kt_intake_counter (f->intake, "customers.presumed_new", NULL), 1);
    assert_int_equal (kt_intake_counter (f->intake, "batches.warm", NULL), warm + 2);
    char first[4096];
    if (kt_db_log_errors ("intake_flow", mark, first, sizeof first) != 0)
        fail_msg ("PostgreSQL logged an error: %s", first);
    char *profile = kt_db_query1 (f->db, "SELECT display_name || ' vip=' || vip FROM customers "
                                         "JOIN customer_channels USING (shop_id, customer_id) "
                                         "WHERE channel_customer_id = 'tb_renamed'");
    assert_string_equal (profile, "lily 莉莉 vip=true");
    free (profile);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customers"), 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(DISTINCT conversation_id) FROM messages"),
                      1);
    //  The customer's next message (same profile) is still one round trip.
    s_accept (f, &m, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "batches.warm", NULL), warm + 3);
}

//  A statement that fails for a reason retrying will not fix (here a CHECK
//  constraint the test adds, refusing one body) costs only the item that
//  caused it: the batch is stored item by item, the bad one is REJECTED as
//  internal, the others are ACCEPTED with the batch failure counted.
static void
test_one_bad_item_does_not_hold_back_the_others (void **state)
{
    fixture_t *f = *state;
    PGconn *conn = PQconnectdb (f->db);
    PGresult *res = PQexec (conn, "ALTER TABLE messages ADD CONSTRAINT test_poison "
                                  "CHECK (body IS DISTINCT FROM '毒药 poison')");
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);
    PQfinish (conn);
    const char *bodies[] = {"有现货吗", "毒药 poison", "今天能发吗", "包邮吗"};
    const char *customers[] = {"tb_p1", "tb_p2", "tb_p3", "tb_p1"};
    int64_t failed = kt_intake_counter (f->intake, "batches.failed", NULL);
    //  Back to back, so that they may share a batch.
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf (id, sizeof id, "poison-%d", i);
        s_send (f,
                &(s_msg_t){.customer = customers[i],
                           .body = (const uint8_t *) bodies[i],
                           .body_len = strlen (bodies[i])},
                id);
    }
    for (int n = 0; n < 4; n++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        bool poison = in->ack->gateway_msg_id.len == strlen ("poison-1") &&
                      memcmp (in->ack->gateway_msg_id.data, "poison-1", 8) == 0;
        if (poison) {
            assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
            assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
        } else
            assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_msg_id "
                                          "LIKE 'poison-%'"),
                      3);
    assert_true (kt_intake_counter (f->intake, "batches.failed", NULL) > failed);
}

//  One writer at light load; a backlog puts the second to work, and it
//  rests again once batches are small (KEFU_INTAKE_WRITERS = 2 here).
static void
s_send_burst (fixture_t *f, const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char id[48], customer[32];
        snprintf (id, sizeof id, "%s-%d", prefix, i);
        snprintf (customer, sizeof customer, "tb_burst_%d", i % 300);
        const char *body = "在吗？什么时候发货";
        s_send (f,
                &(s_msg_t){.customer = customer,
                           .body = (const uint8_t *) body,
                           .body_len = strlen (body)},
                id);
    }
    for (int n = 0; n < count; n++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
}

static void
test_second_writer_only_under_backlog (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (f->intake->config.writers, 2);
    //  One item at a time: never a batch waiting for a busy writer.
    for (int i = 0; i < 20; i++) {
        char customer[32];
        snprintf (customer, sizeof customer, "tb_trickle_%d", i % 3);
        s_accept (f,
                  &(s_msg_t){.customer = customer,
                             .body = (const uint8_t *) "有货吗",
                             .body_len = strlen ("有货吗")},
                  NULL);
    }
    assert_int_equal (kt_intake_counter (f->intake, "writers.grown", NULL), 0);
    assert_int_equal (kt_intake_counter (f->intake, "writers.active", NULL), 1);
    //  2,000 items back to back: at least one batch of 32 (or a full one)
    //  builds up while the first writer stores the one before.
    s_send_burst (f, "burst", 2000);
    assert_int_equal (kt_intake_counter (f->intake, "writers.grown", NULL), 1);
    assert_int_equal (kt_intake_counter (f->intake, "writers.active", NULL), 2);
    assert_int_equal (
        kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_msg_id LIKE 'burst-%'"),
        2000);
    //  The writers share their memory: a customer whose bucket moved to
    //  the other writer is known there, never presumed new again.
    assert_int_equal (kt_intake_counter (f->intake, "batches.presumed_wrong", NULL), 0);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customer_channels "
                                          "WHERE channel_customer_id LIKE 'tb_burst_%'"),
                      300);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM conversations "
                                          "WHERE channel_customer_id LIKE 'tb_burst_%'"),
                      300);
    //  Light load again: the window of the burst ends with big batches
    //  (no rest); the next window has one-item batches (rest).
    kf_clock_advance (f->clock, 1500);
    s_accept (f, &(s_msg_t){.body = (const uint8_t *) "好的", .body_len = strlen ("好的")}, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "writers.active", NULL), 2);
    kf_clock_advance (f->clock, 1500);
    s_accept (f, &(s_msg_t){.body = (const uint8_t *) "谢谢", .body_len = strlen ("谢谢")}, NULL);
    assert_int_equal (kt_intake_counter (f->intake, "writers.active", NULL), 1);
    //  Items of customers still in the first writer's hands never overtake
    //  each other: per customer, stored ids follow the gateway's order.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM (SELECT message_id, "
                                          "  lag (message_id) OVER (PARTITION BY conversation_id "
                                          "    ORDER BY substr (gateway_msg_id, 7)::int) AS prev "
                                          "  FROM messages WHERE gateway_msg_id LIKE 'burst-%') t "
                                          "WHERE prev > message_id"),
                      0);
}

//  One connection's burst gets only its share of intake. With 64 KiB a
//  connection and the writers held up (a lock on messages), forty items of
//  6 KiB find room for ten; the other thirty are answered at once
//  RETRY_LATER overloaded, told to come back at different times. Another
//  gateway's item is taken as usual (it has a share of its own), and once
//  the lock goes every item taken is stored.
static void
test_a_burst_gets_only_its_connections_share (void **state)
{
    fixture_t *f = *state;
    setenv ("KEFU_INTAKE_CONNECTION_INFLIGHT", "64KiB", 1);
    kt_intake_reload (f->intake);
    unsetenv ("KEFU_INTAKE_CONNECTION_INFLIGHT");
    bool welcomed = false;
    zsock_t *other = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-2", SHOP, &welcomed);
    assert_true (welcomed);
    //  (Should the test fail holding the lock, PostgreSQL ends it in 20 s,
    //  so that the teardown does not wait for the writers for ever.)
    PGconn *lock = PQconnectdb (f->db);
    PGresult *res = PQexec (lock, "SET idle_in_transaction_session_timeout = '20s'; BEGIN; "
                                  "LOCK TABLE messages IN SHARE MODE");
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);

    //  A frame is the body and ~60 bytes: 10 fit in 64 KiB, 11 do not.
    enum { ITEMS = 40, TAKEN = 10, BODY = 6144 };
    uint8_t *body = malloc (BODY);
    memset (body, 'x', BODY);
    for (int i = 0; i < ITEMS; i++) {
        char id[32];
        snprintf (id, sizeof id, "big-%02d", i);
        s_send (f, &(s_msg_t){.customer = "tb_big", .body = body, .body_len = BODY}, id);
    }
    uint32_t soonest = UINT32_MAX, latest = 0;
    for (int i = 0; i < ITEMS - TAKEN; i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
        assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_OVERLOADED);
        assert_true (in->ack->retry_after_ms >= 50);
        soonest = in->ack->retry_after_ms < soonest ? in->ack->retry_after_ms : soonest;
        latest = in->ack->retry_after_ms > latest ? in->ack->retry_after_ms : latest;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    assert_true (latest > soonest); //  spread out, not all at once
    assert_int_equal (kt_intake_counter (f->intake, "items.overloaded", NULL), ITEMS - TAKEN);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "small-1", "tb_small", "在吗", kf_clock_now_ms (f->clock));
    kt_gw_send_item (other, &item);

    res = PQexec (lock, "ROLLBACK");
    PQclear (res);
    PQfinish (lock);
    for (int i = 0; i < TAKEN; i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    Kefu__V1__IntakeFrame *in = kt_gw_recv (other);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (
        kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_msg_id LIKE 'big-%'"),
        TAKEN);
    //  The share is free again: a refused item sent again is taken.
    s_send (f, &(s_msg_t){.customer = "tb_big", .body = body, .body_len = BODY}, "big-39");
    in = kt_gw_recv (f->gw);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    free (body);
    zsock_destroy (&other);
}

//  With the batch share set, and while another connection has items inside
//  intake, a batch holds only a slice of one connection's burst. With 16 KiB of a connection in the
//  writers' next batches and the writers held up (a lock on messages, on
//  which another gateway's item already waits), forty items of 6 KiB find
//  room for the batch being written and the next one, two each at most,
//  although the connection's share of intake (256 KiB) would take all
//  forty; the others are answered RETRY_LATER overloaded naming
//  KEFU_INTAKE_CONNECTION_BATCH. Once the lock goes every item taken is
//  stored.
static void
test_a_batch_takes_only_a_slice_of_a_burst (void **state)
{
    fixture_t *f = *state;
    setenv ("KEFU_INTAKE_CONNECTION_BATCH", "16KiB", 1);
    kt_intake_reload (f->intake);
    unsetenv ("KEFU_INTAKE_CONNECTION_BATCH");
    bool welcomed = false;
    zsock_t *other = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-2", SHOP, &welcomed);
    assert_true (welcomed);
    PGconn *lock = PQconnectdb (f->db);
    PGresult *res = PQexec (lock, "SET idle_in_transaction_session_timeout = '20s'; BEGIN; "
                                  "LOCK TABLE messages IN SHARE MODE");
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "small-2", "tb_small", "在吗", kf_clock_now_ms (f->clock));
    kt_gw_send_item (other, &item);
    assert_true (kt_db_wait_lock_waiter (f->db, "kefu-intake"));

    enum { ITEMS = 40, BODY = 6144 };
    uint8_t *body = malloc (BODY);
    memset (body, 'x', BODY);
    for (int i = 0; i < ITEMS; i++) {
        char id[32];
        snprintf (id, sizeof id, "slice-%02d", i);
        s_send (f, &(s_msg_t){.customer = "tb_slice", .body = body, .body_len = BODY}, id);
    }
    //  A last one finds the next batch full whatever the timing: its answer
    //  comes after every other refusal of this connection.
    s_send (f, &(s_msg_t){.customer = "tb_slice", .body = body, .body_len = BODY}, "slice-last");
    int refused = 0;
    for (bool last = false; !last;) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
        assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_OVERLOADED);
        assert_non_null (strstr (in->ack->reason, "KEFU_INTAKE_CONNECTION_BATCH"));
        last = in->ack->gateway_msg_id.len == 10 &&
               memcmp (in->ack->gateway_msg_id.data, "slice-last", 10) == 0;
        refused += !last;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    int taken = ITEMS - refused;
    assert_in_range (taken, 2, 4);

    res = PQexec (lock, "ROLLBACK");
    PQclear (res);
    PQfinish (lock);
    for (int i = 0; i < taken; i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    Kefu__V1__IntakeFrame *in = kt_gw_recv (other);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (
        kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_msg_id LIKE 'slice-%'"),
        taken);
    free (body);
    zsock_destroy (&other);
}

int
main (void)
{
    kf_log_init ("test-intake-flow");
    kf_log_set_level (KF_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_text_is_stored_byte_identical, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_duplicates_keep_the_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_every_error_code_has_a_cause, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_conversation_record_and_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quiet_period_with_driven_clock, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_sweep_closes_an_unanswered_conversation_abandoned,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_writer_memory_is_only_a_hint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_customers_presumed_new, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_renamed_customer_is_updated_in_the_same_round_trip,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_second_writer_only_under_backlog, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_batch_takes_only_a_slice_of_a_burst, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_burst_gets_only_its_connections_share, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_one_bad_item_does_not_hold_back_the_others, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
