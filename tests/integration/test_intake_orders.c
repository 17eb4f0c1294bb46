/*  test_intake_orders — order items through the front door.

    order_update and order_flag are items like every other: validated
    (each invalid class REJECTED with its code, nothing stored), stored
    once (a resend is DUPLICATE), acknowledged after commit, the buyer
    linked to the customer record, and published as "order.received" with
    the whole snapshot for order-sync. The snapshot's address and phone
    are never in the messages row. */
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "shop-o"

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service
    zsock_t *gw;         //  a gateway
} fixture_t;

//  A snapshot and its item (strings borrowed).
typedef struct {
    Kefu__V1__InboundItem item;
    Kefu__V1__OrderUpdate update;
} s_order_t;

static void
s_order (s_order_t *o, const char *id, const char *order_id)
{
    int64_t now = zclock_time ();
    kefu__v1__inbound_item__init (&o->item);
    kefu__v1__order_update__init (&o->update);
    o->item.shop_id = kt_text (SHOP);
    o->item.gateway_msg_id = kt_text (id);
    o->item.sent_at_ms = now;
    o->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
    o->item.order_update = &o->update;
    o->update.order_id = kt_text (order_id);
    o->update.customer_id = kt_text ("tb_lily88");
    o->update.state = KEFU__V1__ORDER_STATE__ORDER_CREATED;
    o->update.payment = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
    o->update.amount_cents = 25900;
    o->update.currency = kt_text ("CNY");
    o->update.created_at_ms = now - 3600000;
    o->update.modified_at_ms = now - 60000;
    o->update.items = kt_text ("连衣裙 M x1");
    o->update.receiver_address = kt_text ("浙江省杭州市西湖区文三路 100 号");
    o->update.receiver_phone = kt_text ("13800138000");
}

//  Send an item; return its ack (caller frees the frame).
static Kefu__V1__IntakeFrame *
s_send (fixture_t *f, const Kefu__V1__InboundItem *item)
{
    kt_gw_send_item (f->gw, item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    return in;
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_orders");
    kt_shop_add (f->db, SHOP);
    f->intake = kt_intake_new (f->db, NULL);
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "orders-feed", SHOP, &welcomed);
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
    free (f->db);
    free (f);
    return 0;
}

static void
test_an_order_update_is_stored_once_and_published_whole (void **state)
{
    fixture_t *f = *state;
    s_order_t o;
    s_order (&o, "ou-1", "TB1001");
    Kefu__V1__IntakeFrame *in = s_send (f, &o.item);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    int64_t stored = in->ack->stored_id;
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  The resend is a duplicate of the same record.
    in = s_send (f, &o.item);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (in->ack->stored_id, stored);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  One row, kind 7, no body; the buyer is a customer of the shop.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 7"), 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 7 AND "
                                          "body IS NULL AND conversation_id IS NULL"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customer_channels WHERE "
                                          "channel_customer_id = 'tb_lily88'"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE stream = 'intake' "
                                          "AND kind = 'order.received'"),
                      1);
    //  The event carries the whole snapshot and the customer it links to.
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "intake", "order.received");
    assert_int_equal (ev->payload_case, KEFU__V1__EVENT__PAYLOAD_ORDER_RECEIVED);
    Kefu__V1__OrderReceived *r = ev->order_received;
    assert_int_equal (r->message_id, stored);
    assert_true (r->customer_id > 0);
    assert_string_equal (r->channel_customer_id, "tb_lily88");
    assert_string_equal (r->gateway_id, "orders-feed");
    assert_int_equal (r->item_case, KEFU__V1__ORDER_RECEIVED__ITEM_UPDATE);
    assert_int_equal (r->update->amount_cents, 25900);
    assert_int_equal (r->update->modified_at_ms, o.update.modified_at_ms);
    assert_int_equal (r->update->receiver_phone.len, strlen ("13800138000"));
    assert_memory_equal (r->update->receiver_phone.data, "13800138000", 11);
    kefu__v1__event__free_unpacked (ev, NULL);
    //  The personal data is nowhere in the messages row.
    assert_int_equal (kt_db_count (f->db,
                                   "SELECT count(*) FROM messages m WHERE "
                                   "m::text LIKE '%13800138000%' OR m::text LIKE '%文三路%'"),
                      0);
}

static void
test_an_order_flag_is_stored_with_its_note (void **state)
{
    fixture_t *f = *state;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__OrderFlag flag = KEFU__V1__ORDER_FLAG__INIT;
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text ("of-1");
    item.sent_at_ms = zclock_time ();
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG;
    item.order_flag = &flag;
    flag.order_id = kt_text ("TB1001");
    flag.colour = KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED;
    flag.note = kt_text ("发邮政快递");
    flag.agent_id = kt_text ("huilan");
    flag.meaning = KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED;
    kt_gw_push (f->gw, &item);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 8 AND "
                                          "body = '发邮政快递' AND agent_id = 'huilan' AND "
                                          "customer_id IS NULL"),
                      1);
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "intake", "order.received");
    assert_int_equal (ev->order_received->item_case, KEFU__V1__ORDER_RECEIVED__ITEM_FLAG);
    assert_int_equal (ev->order_received->flag->colour,
                      KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED);
    assert_int_equal (ev->order_received->flag->meaning,
                      KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED);
    kefu__v1__event__free_unpacked (ev, NULL);
}

//  Each invalid class of each new field: REJECTED with its code, no row.
static void
test_bad_order_fields_are_rejected_with_their_code_and_store_nothing (void **state)
{
    fixture_t *f = *state;
    static const uint8_t bad_utf8[] = {'a', 0xC0, 0xAF};
    static const uint8_t with_nul[] = {'1', '3', 0, '8'};
    int64_t now = zclock_time ();
    char long_address[600];
    memset (long_address, 'x', sizeof long_address - 1);
    long_address[sizeof long_address - 1] = '\0';
    struct {
        const char *what;
        int code;
    } cases[] = {
        {"no order id", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"no buyer", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"unknown state", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
        {"no state", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"unknown payment", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
        {"negative amount", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"absurd amount", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"bad currency", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"address not UTF-8", KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8},
        {"phone with NUL", KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL},
        {"address too long", KEFU__V1__ERROR_CODE__ERROR_TOO_LONG},
        {"no modification time", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"modified next week", KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW},
        {"created two years ago", KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW},
        {"paid in 1970", KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW},
        {"flag of no colour", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"flag of no agent", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"flag meaning unknown", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf (id, sizeof id, "bad-%zu", i);
        s_order_t o;
        s_order (&o, id, "TB-BAD");
        Kefu__V1__OrderFlag flag = KEFU__V1__ORDER_FLAG__INIT;
        flag.order_id = kt_text ("TB-BAD");
        flag.colour = KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED;
        flag.agent_id = kt_text ("huilan");
        switch (i) {
        case 0:
            o.update.order_id = kt_text ("");
            break;
        case 1:
            o.update.customer_id = kt_text ("");
            break;
        case 2:
            o.update.state = 99;
            break;
        case 3:
            o.update.state = 0;
            break;
        case 4:
            o.update.payment = 7;
            break;
        case 5:
            o.update.amount_cents = -1;
            break;
        case 6:
            o.update.amount_cents = 10000000000001LL;
            break;
        case 7:
            o.update.currency = kt_text ("rmb");
            break;
        case 8:
            o.update.receiver_address.data = (uint8_t *) bad_utf8;
            o.update.receiver_address.len = sizeof bad_utf8;
            break;
        case 9:
            o.update.receiver_phone.data = (uint8_t *) with_nul;
            o.update.receiver_phone.len = sizeof with_nul;
            break;
        case 10:
            o.update.receiver_address = kt_text (long_address);
            break;
        case 11:
            o.update.modified_at_ms = 0;
            break;
        case 12:
            o.update.modified_at_ms = now + 7 * 86400000LL;
            break;
        case 13:
            o.update.created_at_ms = now - 2 * 366 * 86400000LL;
            break;
        case 14:
            o.update.paid_at_ms = 1000;
            break;
        default:
            o.item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG;
            o.item.order_flag = &flag;
            if (i == 15)
                flag.colour = 0;
            else if (i == 16)
                flag.agent_id = kt_text ("");
            else
                flag.meaning = 42;
        }
        Kefu__V1__IntakeFrame *in = s_send (f, &o.item);
        if (in->ack->status != KEFU__V1__ACK_STATUS__ACK_REJECTED ||
            (int) in->ack->code != cases[i].code)
            fail_msg ("%s: status %d code %d (%s), expected REJECTED code %d", cases[i].what,
                      in->ack->status, in->ack->code, in->ack->reason, cases[i].code);
        //  The reason names the field, never its value.
        assert_null (strstr (in->ack->reason, "文三路"));
        assert_null (strstr (in->ack->reason, "138"));
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_msg_id LIKE "
                                          "'bad-%'"),
                      0);
    assert_int_equal (kt_intake_counter (f->intake, "items.rejected.unknown_enum", NULL), 3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_an_order_update_is_stored_once_and_published_whole),
        cmocka_unit_test (test_an_order_flag_is_stored_with_its_note),
        cmocka_unit_test (test_bad_order_fields_are_rejected_with_their_code_and_store_nothing),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
