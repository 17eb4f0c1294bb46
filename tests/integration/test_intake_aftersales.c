/*  test_intake_aftersales — review and complaint_action items through the
    front door.

    Both are items like every other: validated (each invalid class
    REJECTED with its code, nothing stored), stored once, acknowledged
    after commit, and published ("review.received",
    "complaint_action.received") whole for kefu-escalation. */
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

#define SHOP "shop-as"

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service
    zsock_t *gw;         //  a gateway
} fixture_t;

//  A review, an action and their items (strings borrowed).
typedef struct {
    Kefu__V1__InboundItem item;
    Kefu__V1__Review review;
    Kefu__V1__ComplaintAction action;
} s_aftersales_t;

static void
s_review (s_aftersales_t *a, const char *id)
{
    int64_t now = zclock_time ();
    kefu__v1__inbound_item__init (&a->item);
    kefu__v1__review__init (&a->review);
    kefu__v1__complaint_action__init (&a->action);
    a->item.shop_id = kt_text (SHOP);
    a->item.gateway_msg_id = kt_text (id);
    a->item.sent_at_ms = now;
    a->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    a->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_REVIEW;
    a->item.review = &a->review;
    a->review.order_id = kt_text ("TB2001");
    a->review.customer_id = kt_text ("tb_mei");
    a->review.grade = KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE;
    a->review.text = kt_text ("衣服有色差，客服也不理人");
    a->review.reviewed_at_ms = now - 3600000;
    a->review.item = kt_text ("连衣裙 M");
    a->review.phone = kt_text ("13900139000");
    a->action.complaint_id = 7;
    a->action.action = KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_JUDGE;
    a->action.agent_id = kt_text ("huilan");
    a->action.valid = true;
}

static void
s_action (s_aftersales_t *a, const char *id)
{
    s_review (a, id);
    a->item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_COMPLAINT_ACTION;
    a->item.complaint_action = &a->action;
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
    f->db = kt_db_fresh ("intake_aftersales");
    kt_shop_add (f->db, SHOP);
    f->intake = kt_intake_new (f->db, NULL);
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "reviews-feed", SHOP, &welcomed);
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
test_a_review_is_stored_once_and_published_whole (void **state)
{
    fixture_t *f = *state;
    s_aftersales_t a;
    s_review (&a, "rv-1");
    Kefu__V1__IntakeFrame *in = s_send (f, &a.item);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    int64_t stored = in->ack->stored_id;
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    in = s_send (f, &a.item);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    //  One row, kind 9, the text as body, no conversation; the buyer is a
    //  customer of the shop.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 9 AND "
                                          "body = '衣服有色差，客服也不理人' AND "
                                          "conversation_id IS NULL"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM customer_channels WHERE "
                                          "channel_customer_id = 'tb_mei'"),
                      1);
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "intake", "review.received");
    assert_int_equal (ev->payload_case, KEFU__V1__EVENT__PAYLOAD_AFTERSALES_RECEIVED);
    Kefu__V1__AfterSalesReceived *r = ev->aftersales_received;
    assert_int_equal (r->message_id, stored);
    assert_true (r->customer_id > 0);
    assert_string_equal (r->channel_customer_id, "tb_mei");
    assert_string_equal (r->gateway_id, "reviews-feed");
    assert_int_equal (r->item_case, KEFU__V1__AFTER_SALES_RECEIVED__ITEM_REVIEW);
    assert_int_equal (r->review->grade, KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE);
    assert_memory_equal (r->review->phone.data, "13900139000", 11);
    kefu__v1__event__free_unpacked (ev, NULL);
}

static void
test_a_complaint_action_is_stored_and_published (void **state)
{
    fixture_t *f = *state;
    s_aftersales_t a;
    s_action (&a, "ca-1");
    a.action.note = kt_text ("买家发来了照片");
    Kefu__V1__IntakeFrame *in = s_send (f, &a.item);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 10 AND "
                                          "agent_id = 'huilan' AND body = '买家发来了照片'"),
                      1);
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "intake", "complaint_action.received");
    Kefu__V1__AfterSalesReceived *r = ev->aftersales_received;
    assert_int_equal (r->item_case, KEFU__V1__AFTER_SALES_RECEIVED__ITEM_COMPLAINT_ACTION);
    assert_int_equal (r->complaint_action->complaint_id, 7);
    assert_true (r->complaint_action->valid);
    kefu__v1__event__free_unpacked (ev, NULL);
}

static void
test_bad_aftersales_fields_are_rejected_with_their_code_and_store_nothing (void **state)
{
    fixture_t *f = *state;
    static const uint8_t bad_utf8[] = {'a', 0xC0, 0xAF};
    static const uint8_t with_nul[] = {'1', '3', 0, '9'};
    int64_t now = zclock_time ();
    char long_text[2100];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    struct {
        const char *what;
        int code;
    } cases[] = {
        {"review without order", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"review without buyer", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"review without grade or stars", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"review with both", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"six stars", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"unknown grade", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
        {"text not UTF-8", KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8},
        {"phone with NUL", KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL},
        {"text too long", KEFU__V1__ERROR_CODE__ERROR_TOO_LONG},
        {"no review time", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"reviewed next week", KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW},
        {"action without case", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"action of no kind", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"unknown action", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
        {"action without agent", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"not valid without reason", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"investigate without party", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"propose without remedy", KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD},
        {"negative amount", KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE},
        {"unknown remedy", KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf (id, sizeof id, "bad-%zu", i);
        s_aftersales_t a;
        if (i <= 10)
            s_review (&a, id);
        else
            s_action (&a, id);
        Kefu__V1__Review *r = &a.review;
        Kefu__V1__ComplaintAction *c = &a.action;
        switch (i) {
        case 0:
            r->order_id = kt_text ("");
            break;
        case 1:
            r->customer_id = kt_text ("");
            break;
        case 2:
            r->grade = 0;
            break;
        case 3:
            r->stars = 2;
            break;
        case 4:
            r->grade = 0;
            r->stars = 6;
            break;
        case 5:
            r->grade = 9;
            break;
        case 6:
            r->text.data = (uint8_t *) bad_utf8;
            r->text.len = sizeof bad_utf8;
            break;
        case 7:
            r->phone.data = (uint8_t *) with_nul;
            r->phone.len = sizeof with_nul;
            break;
        case 8:
            r->text = kt_text (long_text);
            break;
        case 9:
            r->reviewed_at_ms = 0;
            break;
        case 10:
            r->reviewed_at_ms = now + 7 * 86400000LL;
            break;
        case 11:
            c->complaint_id = 0;
            break;
        case 12:
            c->action = 0;
            break;
        case 13:
            c->action = 42;
            break;
        case 14:
            c->agent_id = kt_text ("");
            break;
        case 15:
            c->valid = false;
            break;
        case 16:
            c->action = KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_INVESTIGATE;
            break;
        case 17:
            c->action = KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_PROPOSE;
            break;
        case 18:
            c->action = KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_PROPOSE;
            c->remedy = KEFU__V1__REMEDY__REMEDY_COUPON;
            c->amount_cents = -500;
            break;
        default:
            c->action = KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_PROPOSE;
            c->remedy = 77;
        }
        Kefu__V1__IntakeFrame *in = s_send (f, &a.item);
        if (in->ack->status != KEFU__V1__ACK_STATUS__ACK_REJECTED ||
            (int) in->ack->code != cases[i].code)
            fail_msg ("%s: status %d code %d (%s), expected REJECTED code %d", cases[i].what,
                      in->ack->status, in->ack->code, in->ack->reason, cases[i].code);
        //  The reason names the field, never its value.
        assert_null (strstr (in->ack->reason, "139"));
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
        cmocka_unit_test (test_a_review_is_stored_once_and_published_whole),
        cmocka_unit_test (test_a_complaint_action_is_stored_and_published),
        cmocka_unit_test (
            test_bad_aftersales_fields_are_rejected_with_their_code_and_store_nothing),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
