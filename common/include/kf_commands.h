/*  kf_commands — commands handed to gateways through intake's command
    endpoint, the same way for every service that decides them.

    A command is decided inside the service's transaction and kept until
    the commit (dropped on a rollback); after the commit it is the record's
    and is sent, then resent every `timeout` until intake acknowledges it.
    Acks name the request only; they are matched through a hash of request
    ids to the unacknowledged commands (keyed by shop and request id). At a
    start the service reads its own unacknowledged rows and restores them.

        kf_commands_decide (cmds, shop, request, frame, size, store, tag, &err);
        ... kf_store_commit ...
        kf_commands_commit (cmds);           //  or kf_commands_rollback

    At most a window of commands (default 1000, kf_commands_set_window) is
    sent and not yet acknowledged; the rest wait in decision order and go
    as acks come back. So a burst (16:00's reminders) reaches intake at the
    pace it stores them: nothing waits long enough in a socket to be
    resent as a duplicate, and the resend timer looks only at what is in
    flight.

    A service that pipelines its transactions seals what was decided into
    the transaction under way (kf_commands_seal) and commits that one when
    its COMMIT answers (kf_commands_commit_sealed).

    The service keeps its own SQL: `store` writes a command's row in the
    current transaction, `acked` is told of every final ack (ACCEPTED,
    DUPLICATE or REJECTED) and returns 0 to let the command go, -1 to keep
    it (it is sent again later and acknowledged again). */
#ifndef KF_COMMANDS_H
#define KF_COMMANDS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_control.h"
#include "kf_error.h"

typedef struct _kf_command_t kf_command_t;
struct _kf_command_t {
    char shop_id[65];      //  shop
    char request_id[160];  //  idempotency key at intake
    zchunk_t *frame;       //  packed CommandSubmit
    int64_t last_sent;     //  monotonic ms, 0 = not yet
    bool stored;           //  has a row of the service's (forget it when acked)
    int64_t tag;           //  the service's own (routing: the conversation)
    kf_command_t *next_id; //  (module) another shop's command of the same request id
    void *handle;          //  (module) its place in the waiting or the in-flight list
    bool in_flight;        //  (module) sent and not acknowledged (counts in the window)
};

typedef struct _kf_commands_t kf_commands_t;

//  Write c's row in the current transaction. 0 or -1 with err.
typedef int (kf_commands_store_fn) (void *arg, const kf_command_t *c, kf_error_t *err);
//  A final ack of c (refused: REJECTED). 0 = done with it, -1 = keep it.
typedef int (kf_commands_acked_fn) (void *arg, const kf_command_t *c, bool refused);

//  Commands sent on `intake` (borrowed DEALER); `service` names the log
//  events ("<service>.command_refused"); counters commands.issued,
//  .resent, .acked, .refused on control. Caller owns return value.
kf_commands_t *kf_commands_new (const char *service, zsock_t *intake, kf_control_t *control,
                                kf_commands_store_fn *store, kf_commands_acked_fn *acked,
                                void *arg);
void kf_commands_destroy (kf_commands_t **self_p);

//  A command decided in the current transaction; with `store` its row is
//  written now (through the store callback). 0, or -1 with err (nothing kept).
int kf_commands_decide (kf_commands_t *self, const char *shop_id, const char *request_id,
                        const void *frame, size_t size, bool store, int64_t tag, kf_error_t *err);
//  Write the row of c (decided or unacknowledged) in the current transaction.
int kf_commands_store (kf_commands_t *self, kf_command_t *c, kf_error_t *err);

//  The commands decided in the current transaction, in order (iterate with
//  zlistx_first/next; do not change the list).
zlistx_t *kf_commands_decided (kf_commands_t *self);
//  The unacknowledged command of request_id (any shop's when shop_id is
//  NULL), or NULL.
kf_command_t *kf_commands_lookup (kf_commands_t *self, const char *shop_id, const char *request_id);
//  Drop a command: decided in this transaction or unacknowledged.
void kf_commands_cancel (kf_commands_t *self, const char *shop_id, const char *request_id);

//  The current transaction committed: count, keep and send its commands.
void kf_commands_commit (kf_commands_t *self);
//  The current transaction goes to the store: its commands wait for that
//  COMMIT (kf_commands_commit_sealed); later ones belong to the next.
void kf_commands_seal (kf_commands_t *self);
void kf_commands_commit_sealed (kf_commands_t *self);
//  A transaction failed: its commands (current and sealed) are dropped.
void kf_commands_rollback (kf_commands_t *self);
//  Drop only the commands decided in the current transaction.
void kf_commands_discard (kf_commands_t *self);

//  A command read from the record at a start (or rebuilt from it): kept
//  and sent unless the same request is already pending.
void kf_commands_restore (kf_commands_t *self, const char *shop_id, const char *request_id,
                          const void *frame, size_t size, bool stored, int64_t tag);

//  At most `window` commands sent and not acknowledged (>= 1).
void kf_commands_set_window (kf_commands_t *self, size_t window);
//  Commands sent and not yet acknowledged.
size_t kf_commands_in_flight (kf_commands_t *self);

//  Read intake's acks waiting on the socket (a zloop reader may call it).
void kf_commands_handle_acks (kf_commands_t *self);
//  The same as a zloop reader of the intake socket (arg: the kf_commands_t).
int kf_commands_reader (zloop_t *loop, zsock_t *reader, void *arg);
//  Send again what intake did not acknowledge within timeout ms (0: all in
//  flight), then what waits, as the window allows.
void kf_commands_resend (kf_commands_t *self, int64_t timeout);
//  Unacknowledged commands.
size_t kf_commands_unacked (kf_commands_t *self);

#endif
