/*  kefu_gateway.h — libkefu-gateway, the C client library for chat gateways.

    A gateway (a Taobao/Qianniu, WeChat, web-chat, e-mail or phone
    connector) uses this library to push everything customers and agents
    say into kefu's intake service, and to receive the commands kefu sends
    back (assign a conversation, send an auto-reply, remind about an order,
    notify an agent).

    The delivery contract
    ---------------------
    Every item you send carries your own unique id (gateway_msg_id, unique
    per gateway and shop). Intake answers each item with exactly one final
    ack, sent only after the item is stored durably:
      ACCEPTED   stored now (ack->stored_id is the record id)
      DUPLICATE  stored before (ack->stored_id is the original record id)
      REJECTED   permanently refused (ack->code, ack->reason say why);
                 fix the item, do not resend it
    The library keeps every unacknowledged item (up to `window` of them) and
    resends it, with the same id, after `ack_timeout_ms`, after a reconnect,
    and after intake answers RETRY_LATER (database unavailable, overloaded)
    with exponential backoff plus jitter. Your ack callback only ever sees
    final acks. Items are kept in memory: a gateway that must survive its own
    crash keeps its own journal and resends unacknowledged ids on start
    (intake de-duplicates, so resending is always safe).

    Commands from kefu arrive through the command callback; the library
    drops repeats of a command id it has already given you (intake resends
    a command until it is acked), so each command reaches you once. Call
    kefu_gateway_ack_command when you have carried it out (or cannot); if
    intake repeats a command you already acked (your ack was lost), the
    library answers it again by itself, with the same answer. The last
    10,000 command ids are remembered.

    The session: the library says Hello on every (re)connection and sends
    items only after intake's Welcome; until then they wait in the window.
    If intake refuses the Hello (Reject), the reason is kept (see
    kefu_gateway_reject_reason) and Hello is retried every 5 s. If intake
    answers an item RETRY_LATER with ERROR_NOT_AUTHENTICATED (it restarted
    and forgot this connection), the library says Hello again and resends
    after the Welcome. REJECTED is final whatever its code (with
    ERROR_NOT_AUTHENTICATED: this key was revoked).

    Threads: a kefu_gateway_t is used from one thread. Call kefu_gateway_poll
    regularly (it does all I/O, resends and callbacks). Inside a callback you
    may call kefu_gateway_send and kefu_gateway_ack_command, but not
    kefu_gateway_poll, kefu_gateway_flush or kefu_gateway_destroy.

    Complete example
    ----------------
        #include <errno.h>
        #include <stdio.h>
        #include <kefu/kefu_gateway.h>

        static void
        on_ack (const Kefu__V1__Ack *ack, void *arg)
        {
            (void) arg;
            printf ("%.*s -> %s\n", (int) ack->gateway_msg_id.len,
                    (const char *) ack->gateway_msg_id.data,
                    kefu_gateway_status_name (ack->status));
        }

        static void
        on_command (kefu_gateway_t *gw, const Kefu__V1__Command *cmd, void *arg)
        {
            (void) arg;
            //  ... carry it out on the platform, then:
            kefu_gateway_ack_command (gw, cmd->command_id, true, NULL);
        }

        int
        main (void)
        {
            kefu_gateway_shop_channel_t serves[] = {
                {"tmall-hzfs", KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT}};
            kefu_gateway_options_t opts = kefu_gateway_options_default ();
            opts.endpoint = "tcp://kefu.example:5555";
            opts.gateway_id = "qianniu-1";
            opts.server_public_key = "<intake's public key, 40 Z85 characters>";
            //  from kefuctl principal add --generate:
            opts.secret_key_file = "/etc/kefu/qianniu-1.key_secret";
            opts.serves = serves;
            opts.serves_count = 1;
            kefu_gateway_t *gw = kefu_gateway_new (&opts);
            if (!gw)
                return 1;
            kefu_gateway_on_ack (gw, on_ack, NULL);
            kefu_gateway_on_command (gw, on_command, NULL);

            Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
            msg.customer_id = kefu_gateway_text ("tb_buyer_8812");
            msg.body = kefu_gateway_text ("亲，这件衣服有M码吗？");
            Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
            item.shop_id = kefu_gateway_text ("tmall-hzfs");
            item.gateway_msg_id = kefu_gateway_text ("qn-20261123-000001");
            item.sent_at_ms = kefu_gateway_now_ms ();
            item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
            item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
            item.customer_message = &msg;
            while (kefu_gateway_send (gw, &item) == -1 && errno == EAGAIN)   //  window full
                kefu_gateway_poll (gw, 100);                                  //  let acks arrive
            kefu_gateway_flush (gw, 10000);                //  wait for every ack
            kefu_gateway_destroy (&gw);
            return 0;
        }

    Build, after `cmake --install` (which installs this header, the kefu/v1
    protobuf-c headers it includes, libkefu-gateway.a, libkefu-proto.a and
    kefu-gateway.pc):
        cc -std=c11 app.c $(pkg-config --cflags --libs kefu-gateway)
    with PKG_CONFIG_PATH=<prefix>/lib/pkgconfig when pkg-config does not
    search that prefix by itself. */
#ifndef KEFU_GATEWAY_H
#define KEFU_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kefu/v1/gateway.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kefu_gateway_t kefu_gateway_t;

//  A shop and channel this gateway delivers commands for.
typedef struct {
    const char *shop_id;       //  kefu shop id
    Kefu__V1__Channel channel; //  channel
} kefu_gateway_shop_channel_t;

typedef struct {
    const char *endpoint;          //  intake's gateway endpoint, e.g. "tcp://127.0.0.1:5555"
    const char *gateway_id;        //  stable name of this gateway, part of the de-dup key
    const char *server_public_key; //  intake's CURVE public key (Z85); NULL = plain (dev only)
    const char *secret_key_file;   //  this gateway's key pair (zcert "_secret" file); NULL = plain
    const kefu_gateway_shop_channel_t *serves; //  shops+channels to get commands for (copied)
    size_t serves_count;                       //  entries in serves
    int window;           //  max items sent and not yet finally acked (default 1000)
    int ack_timeout_ms;   //  resend an unacked item after this (default 5000)
    int retry_backoff_ms; //  first RETRY_LATER backoff, doubles up to 10 s (default 200)
    int hello_timeout_ms; //  resend Hello when no Welcome came (default 2000)
    const char *software; //  free text sent in Hello (default "libkefu-gateway")
} kefu_gateway_options_t;

//  Options with every default filled in (endpoint and gateway_id still NULL).
kefu_gateway_options_t kefu_gateway_options_default (void);

//  Connect to intake and send Hello. Returns NULL (reason on stderr) if the
//  options are unusable (missing endpoint/gateway_id, unreadable key file,
//  only one of server_public_key / secret_key_file). Connection problems are
//  not errors: the library keeps retrying. Everything in options is copied.
//  Options left at 0 take their defaults.
//  Caller owns return value and must destroy it.
kefu_gateway_t *kefu_gateway_new (const kefu_gateway_options_t *options);
//  Close the connection (pending items are dropped: flush first). NULL-safe;
//  nulls *self_p.
void kefu_gateway_destroy (kefu_gateway_t **self_p);

//  Called for every final ack (ACCEPTED, DUPLICATE, REJECTED), once per
//  kefu_gateway_send. The ack is borrowed: copy what you keep. One REJECTED
//  is made locally: code ERROR_OVERSIZED_FRAME when the packed item is
//  larger than the frame limit intake announced in its Welcome (sending it
//  would only get the connection dropped).
typedef void (kefu_gateway_ack_fn) (const Kefu__V1__Ack *ack, void *arg);
void kefu_gateway_on_ack (kefu_gateway_t *self, kefu_gateway_ack_fn *fn, void *arg);

//  Called once per command. The command is borrowed. Acknowledge it with
//  kefu_gateway_ack_command (now or later). An assign (cmd->assign) and a
//  suggest (cmd->suggest: the conversation's intent changed) carry the
//  shop's quick replies (快捷短语) for the agent in suggestions[0 ..
//  n_suggestions), each phrase_id, intent (0 = the greeting) and text
//  filled in: show them where the agent answers; a reply with one of
//  these texts as it is counts as that phrase used. Without a command callback,
//  commands are not taken (intake keeps them and sends them again later).
typedef void (kefu_gateway_command_fn) (kefu_gateway_t *self, const Kefu__V1__Command *command,
                                        void *arg);
void kefu_gateway_on_command (kefu_gateway_t *self, kefu_gateway_command_fn *fn, void *arg);

//  Queue an item for delivery (the library copies it). Returns 0, or -1 with
//  errno EAGAIN if the window is full (call kefu_gateway_poll and try again)
//  or EINVAL if the item has no shop_id / gateway_msg_id. It goes out at
//  once when the session is open; no callback is made from here. Sending
//  the same id twice while the first is in flight is allowed; each send
//  gets its own final ack, and resends carry the newest bytes.
int kefu_gateway_send (kefu_gateway_t *self, const Kefu__V1__InboundItem *item);

//  Do I/O for up to timeout_ms: receive acks and commands, resend what timed
//  out, retry RETRY_LATER items whose backoff passed. Returns as soon as
//  something from intake was handled, or when timeout_ms passed (0: only
//  what is ready now; < 0: no limit). Returns the number of callbacks made,
//  or -1 if interrupted (a signal).
int kefu_gateway_poll (kefu_gateway_t *self, int timeout_ms);

//  Poll until every sent item has its final ack or timeout_ms passed.
//  Returns the number of items still unacknowledged (0 = all done).
size_t kefu_gateway_flush (kefu_gateway_t *self, int timeout_ms);

//  Acknowledge a command: delivered (carried out) or failed with a reason
//  (may be NULL). Returns 0 if sent, -1 if it could not be sent now (no
//  connection); either way the answer is remembered and repeated when
//  intake sends the command again.
int kefu_gateway_ack_command (kefu_gateway_t *self, int64_t command_id, bool delivered,
                              const char *reason);

//  Items sent and not yet finally acked.
size_t kefu_gateway_inflight (const kefu_gateway_t *self);
//  True once intake has welcomed this connection (and not rejected it since).
bool kefu_gateway_welcomed (const kefu_gateway_t *self);
//  Why intake is not taking this gateway: the reason of the last Reject, or
//  a failed CURVE handshake (key not registered, wrong server key). NULL
//  when nothing went wrong or after the next Welcome. Borrowed.
const char *kefu_gateway_reject_reason (const kefu_gateway_t *self);

typedef struct {
    uint64_t sent;            //  first transmissions
    uint64_t resent;          //  retransmissions (timeout, reconnect, RETRY_LATER)
    uint64_t accepted;        //  final ACCEPTED acks
    uint64_t duplicate;       //  final DUPLICATE acks
    uint64_t rejected;        //  final REJECTED acks
    uint64_t retry_later;     //  RETRY_LATER / NOT_AUTHENTICATED acks received (not final)
    uint64_t commands;        //  commands delivered to the callback
    uint64_t command_repeats; //  repeated commands dropped (or re-acked automatically)
    uint64_t hellos;          //  Hello messages sent
} kefu_gateway_stats_t;
void kefu_gateway_stats (const kefu_gateway_t *self, kefu_gateway_stats_t *out);

//  Helpers: a bytes field pointing at a NUL-terminated string (borrowed).
ProtobufCBinaryData kefu_gateway_text (const char *s);
//  Milliseconds since the epoch, for sent_at_ms.
int64_t kefu_gateway_now_ms (void);
//  "accepted", "duplicate", "rejected", "retry_later".
const char *kefu_gateway_status_name (Kefu__V1__AckStatus status);

#ifdef __cplusplus
}
#endif

#endif
