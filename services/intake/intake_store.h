/*  intake_store — all of intake's SQL.

    intake_store_write_batch stores a batch of validated items in ONE
    transaction: de-duplication against earlier deliveries, the customer
    record (客户档案), conversations (open, continue, close after the quiet
    period), the message rows, and every event (through the outbox). It
    fills each item's ack status and stored id. Only after it returns 0 may
    the caller send ACCEPTED or DUPLICATE acks. */
#ifndef INTAKE_STORE_H
#define INTAKE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "intake_cache.h"
#include "intake_conversations.h"
#include "intake_item.h"
#include "kf_outbox.h"
#include "kf_store.h"

//  Register intake's statements with the store.
void intake_store_register (kf_store_t *store);

typedef struct {
    int accepted;   //  new rows
    int duplicates; //  earlier deliveries (or repeats inside the batch)
    int conflicts;  //  duplicates whose body differed from the stored one
    int opened;     //  conversations opened
    int closed;     //  conversations closed (quiet period or close items)
    bool warm;      //  stored in one round trip from what the writer remembered
    bool stale;     //  what the writer remembered was out of date (then stored the ordinary way)
    int presumed;   //  customers presumed new (stored in the write round trip)
    bool presumed_wrong;  //  a customer presumed new was known (then stored the ordinary way)
    int unique_conflicts; //  attempts that failed on a unique key (SQLSTATE 23505; logged)
} intake_batch_result_t;

//  Ids reserved from the sequences ahead of time (conversations, messages,
//  customers presumed new),
//  so that a batch spends no round trip numbering its new rows. They are
//  taken oldest first, so ids grow with time within one writer. Start
//  zeroed; intake_id_pool_clear frees. Reserved a block at a time (more if
//  a batch needs more): message ids in large blocks (every item needs one),
//  conversation ids in small ones, so that the conversations two writers
//  open at the same time get close numbers.
#define INTAKE_MESSAGE_ID_BLOCK      1024
#define INTAKE_CONVERSATION_ID_BLOCK 64
#define INTAKE_CUSTOMER_ID_BLOCK     64
typedef struct {
    int64_t *ids; //  reserved, unused ids, oldest first
    int count;    //  how many
    int cap;      //  allocated
} intake_ids_t;
typedef struct {
    intake_ids_t conversations;
    intake_ids_t messages;
    intake_ids_t customers;
} intake_id_pool_t;
void intake_id_pool_clear (intake_id_pool_t *pool);

//  Store items[0..count) (all validated, shop checked) in one transaction.
//  On success sets every item's status/stored_id and returns 0; on failure
//  rolls back (nothing stored, no event) and returns -1 with err set.
//  pool (required) numbers the new rows. A batch without duplicates takes
//  two round trips (three if it closes a conversation); one with duplicates
//  goes the general way (one statement at a time). With a cache (the
//  writer's customers, see intake_cache.h; may be NULL), remembered
//  customers are not read again, and customers it does not know are
//  presumed new while that keeps holding (intake_cache_presume_new), so a
//  batch of such customers takes one round trip; the cache learns every
//  committed batch.
int intake_store_write_batch (kf_store_t *store, kf_outbox_t *outbox, intake_id_pool_t *pool,
                              intake_cache_t *cache, intake_item_t *items, int count,
                              intake_periods_t periods, intake_batch_result_t *result,
                              kf_error_t *err);

//  Close the conversations of these shops that expired (the rule of
//  intake_conversations: last message + the quiet period, or + the abandon
//  limit while the customer waits, before the shop's mark; now_ms is
//  intake's clock), looking at up to `limit` candidates, with their events,
//  in one transaction. Returns how many closed, or -1; *more says whether
//  more candidates may be waiting (call again).
int intake_store_close_quiet (kf_store_t *store, kf_outbox_t *outbox, const char **shops,
                              int shop_count, int64_t now_ms, intake_periods_t periods, int limit,
                              bool *more, kf_error_t *err);

//  Active principals with a key, and their shops (comma-separated).
typedef void (intake_principal_row_fn) (void *arg, const char *id, const char *role,
                                        const char *key, bool all_shops, const char *shops_csv);
int intake_store_load_principals (kf_store_t *store, intake_principal_row_fn *fn, void *arg,
                                  kf_error_t *err);

//  Gateway ids of active principals (each id belongs to one principal).
typedef void (intake_gateway_row_fn) (void *arg, const char *gateway_id, const char *principal_id);
int intake_store_load_gateways (kf_store_t *store, intake_gateway_row_fn *fn, void *arg,
                                kf_error_t *err);

//  Registered shops.
typedef void (intake_shop_row_fn) (void *arg, const char *shop_id);
int intake_store_load_shops (kf_store_t *store, intake_shop_row_fn *fn, void *arg, kf_error_t *err);

//  Mark every customer key of the record in the cache's filter of stored
//  keys (intake_cache_mark_stored), a page at a time; the count, or -1.
int64_t intake_store_load_customer_keys (kf_store_t *store, intake_cache_t *cache, kf_error_t *err);

//  ---------------------------------------------------------------------
//  Outbound commands

typedef struct {
    const char *shop_id;    //  shop (registered)
    const char *origin;     //  issuing service / principal
    const char *request_id; //  issuer's idempotency key
    int channel;            //  target channel
    const char *kind;       //  "assign", "auto_reply", "reminder", "notice"
    const uint8_t *payload; //  packed Command (with its command_id)
    size_t size;            //  bytes in payload
    int64_t created_ms;     //  when it was handed in
    int64_t command_id;     //  in: reserved id; out: stored id (new or original)
    int status;             //  out: ACK_ACCEPTED (stored now) or ACK_DUPLICATE
} intake_command_row_t;

//  Reserve n command ids (for packing commands before they are stored).
int intake_store_reserve_command_ids (kf_store_t *store, int n, int64_t *ids, kf_error_t *err);
//  Store commands (idempotent on shop, origin, request_id) with their
//  command.issued events, in one transaction.
int intake_store_insert_commands (kf_store_t *store, kf_outbox_t *outbox,
                                  intake_command_row_t *rows, int count, kf_error_t *err);

typedef struct {
    const char *shop_id; //  shop
    int64_t command_id;  //  command
    bool delivered;      //  gateway carried it out
    const char *reason;  //  why it failed, may be NULL
    int attempts;        //  sends so far
} intake_settle_row_t;

//  Mark commands settled (first ack wins) with command.settled events.
int intake_store_settle_commands (kf_store_t *store, kf_outbox_t *outbox,
                                  const intake_settle_row_t *rows, int count, int64_t now_ms,
                                  kf_error_t *err);

//  Every unsettled command, oldest first, up to limit.
typedef void (intake_pending_fn) (void *arg, const char *shop_id, int64_t command_id, int channel,
                                  const uint8_t *payload, size_t size, int attempts);
int intake_store_load_pending_commands (kf_store_t *store, intake_pending_fn *fn, void *arg,
                                        int limit, kf_error_t *err);

//  Whether the shop has conversation id in the record (open or closed):
//  1 yes, 0 no, -1 error (kefuctl transfer tells "closed" from "unknown").
int intake_store_conversation_known (kf_store_t *store, const char *shop_id, int64_t id,
                                     kf_error_t *err);

#endif
