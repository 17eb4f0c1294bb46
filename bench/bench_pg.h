/*  bench_pg — every SQL statement of the benchmarks, and the machine's raw
    PostgreSQL limit for storing messages.

    The raw limit: a scratch table made with
        CREATE TABLE bench_scratch (LIKE messages INCLUDING ALL)
    (the same columns, identity, checks, primary key, dedup unique
    constraint and index), filled with the same message rows intake would
    store, `batch` rows per transaction, each committed (fsync on), using
    the very statement intake stores its message rows with (unnested binary
    arrays, ON CONFLICT on the dedup key DO NOTHING, RETURNING the ids an ack
    needs) and nothing else: no customers, conversations or events. Also the
    latency of single-row commits, the floor under any ack.

        bench_pg_raw_opts_t opts = {"bench-shop", 8, 20000, 100000, 1000, 1000, 0};
        bench_pg_raw_result_t result;
        bench_pg_raw (url, &opts, &result);

    The routing benchmark's set-up: shops, groups, shifts, agents and their
    schedules, registered as kefuctl would (bench_pg_routing_setup).

    The stack benchmark's: an event log with yesterday's events in it
    (bench_pg_event_history), the size of every table (bench_pg_sizes), and
    whether every acknowledged item is stored exactly once (bench_pg_check). */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stdint.h>

#include "kf_store.h"

typedef struct {
    char server_version[32];     //  SHOW server_version
    char fsync[16];              //  SHOW fsync
    char synchronous_commit[16]; //  SHOW synchronous_commit
    char full_page_writes[16];   //  SHOW full_page_writes
    char wal_sync_method[32];    //  SHOW wal_sync_method
    char data_directory[512];    //  SHOW data_directory
    int postmaster_pid;          //  from postmaster.pid; 0 if unreadable
} bench_pg_info_t;

//  Settings of the server at url. 0, or -1 (reason on stderr).
int bench_pg_info (const char *url, bench_pg_info_t *out);

//  A store connected to url as app_name (its application_name), with
//  statements prepared (may be NULL); NULL if it cannot connect (reason on
//  stderr). Caller owns return value.
kf_store_t *bench_pg_connect (const char *url, const char *app_name, const kf_stmt_t *statements);
//  Run a trusted SQL script of the benchmark's own on a connection of its
//  own. 0, or -1 (reason on stderr).
int bench_pg_exec (const char *url, const char *sql);
//  CHECKPOINT, so that every phase starts with the same WAL state. 0 or -1.
int bench_pg_checkpoint (const char *url);

//  ANALYZE the whole database (what autovacuum does as tables grow). 0 or -1.
int bench_pg_analyze (const char *url);

//  The value of a trusted constant query returning one integer; -1 on error.
//  Register shop_id (time zone UTC) with its partition; 0 or -1.
int bench_pg_add_shop (const char *url, const char *shop_id, const char *name);
int64_t bench_pg_count (const char *url, const char *sql);
//  The same with one text parameter, $1.
int64_t bench_pg_count1 (const char *url, const char *sql, const char *value);
//  The same on a connection the caller keeps (for sampling often).
int64_t bench_pg_store_count (kf_store_t *store, const char *sql);

typedef struct {
    const char *shop_id; //  rows' shop (need not be registered)
    int gateways;        //  rows are spread over this many gateway ids
    int customers;       //  distinct buyers, as in the intake phases
    int64_t rows;        //  rows to insert in batches
    int batch;           //  rows per transaction
    int single_commits;  //  single-row commits to time afterwards
    int postmaster_pid;  //  for CPU accounting (0: none)
} bench_pg_raw_opts_t;

typedef struct {
    int64_t rows;      //  rows inserted in batches
    double seconds;    //  time for all batches
    double rows_per_s; //  rows / seconds
    double txn_p50_ms; //  per batch transaction (BEGIN .. COMMIT)
    double txn_p99_ms;
    double pg_cpu_s;      //  CPU seconds PostgreSQL used for the batches
    double cpu_s;         //  CPU seconds this process used for them
    int commits;          //  single-row commits timed
    double commit_p50_ms; //  per single-row INSERT committed (autocommit)
    double commit_p99_ms;
} bench_pg_raw_result_t;

//  Create the scratch table, measure, drop it. 0, or -1 (reason on stderr).
int bench_pg_raw (const char *url, const bench_pg_raw_opts_t *opts, bench_pg_raw_result_t *out);

//  The pids of the backends serving connections named app_name (their
//  application_name) in url's database: up to max into pids; returns how
//  many there are, or -1 on error.
int bench_pg_backend_pids (const char *url, const char *app_name, int *pids, int max);

//  The most conversations any agent holds above their capacity (routing's
//  open conversations against the agents table; <= 0: nobody is over).
#define BENCH_PG_OVER_CAPACITY                                                                     \
    "SELECT coalesce (max (n - a.capacity), -1) FROM (SELECT shop_id, agent_id, count(*) AS n "    \
    "  FROM routing_conversations WHERE state = 2 GROUP BY shop_id, agent_id) c "                  \
    "JOIN agents a USING (shop_id, agent_id)"

//  Agent ids of the routing set-up: agent i of every shop is "kf<ii>".
#define BENCH_PG_AGENT_FMT "kf%02d"

typedef struct {
    int shops;                    //  shops to register
    const char *const *shop_ids;  //  their ids (valid kefu shop ids)
    const char *const *names;     //  their display names
    const char *const *timezones; //  their IANA time zones
    int agents;                   //  agents per shop (BENCH_PG_AGENT_FMT, at most 100)
    int presales;                 //  agents 0..presales-1 serve presales, the others aftersales
    int capacity;                 //  every agent's capacity (max concurrent conversations)
} bench_pg_routing_t;

//  Register the shops (partition = kf_shop_partition, as kefuctl shop add)
//  and set each up for routing in one transaction: groups presales (售前)
//  and aftersales (售后), each overflowing to the other after 2 minutes
//  (kefuctl shift defaults); one shift "allday" 00:00-24:00 in the shop's
//  time zone, worked by every agent every day; the agents with their
//  capacity, weight 1, the first agent of each group VIP-capable; routing
//  settings with their defaults. 0, or -1 (reason on stderr).
int bench_pg_routing_setup (const char *url, const bench_pg_routing_t *setup);

//  ---------------------------------------------------------------------
//  The stack benchmark

typedef struct {
    int64_t events;               //  events stored yesterday (UTC), spread over the day
    const char *stream;           //  their stream, all 16 partitions of it
    const char *const *consumers; //  its consumers (NULL-terminated): offsets set past them
} bench_pg_history_t;

//  Give a freshly migrated database (events_legacy still empty) a log that
//  has been running: daily partitions for yesterday and today (UTC) in place
//  of events_legacy, yesterday's holding `events` events, the stream's
//  sequences and every consumer's offsets past them, as a day that every
//  consumer applied; then VACUUM (FREEZE, ANALYZE) that partition and
//  CHECKPOINT, as a running system would have done by now. Writes the
//  partition's name into partition. 0, or -1 (reason on stderr).
int bench_pg_event_history (const char *url, const bench_pg_history_t *history, char *partition,
                            size_t size);

typedef struct {
    char name[64]; //  table (partitions count as their partitioned table)
    int64_t bytes; //  pg_total_relation_size: heap, indexes, TOAST
} bench_pg_size_t;

//  Every table of the public schema with its size, largest first, leaving
//  out the table (partition) named `except` (may be NULL): up to max into
//  out; returns how many, or -1 (reason on stderr).
int bench_pg_sizes (kf_store_t *store, const char *except, bench_pg_size_t *out, int max);

typedef struct _bench_pg_check_t bench_pg_check_t;

typedef struct {
    int64_t sent;           //  items added
    int64_t acked;          //  of which acknowledged (stored id > 0)
    int64_t missing;        //  acked, no row under their key
    int64_t other_id;       //  acked, the row under their key has another id than the ack
    int64_t repeated;       //  rows beyond one per key (the gateways' rows)
    int64_t unsent;         //  rows of the gateways under a key never sent
    int64_t stored_unacked; //  sent, not acked, stored anyway
} bench_pg_check_result_t;

//  Whether items are stored exactly once: add every item a set of gateways
//  sent (stored_id: what its ACCEPTED or DUPLICATE ack named, 0 if none),
//  then compare with the messages table. Caller owns return value; NULL if
//  it cannot connect.
bench_pg_check_t *bench_pg_check_new (const char *url);
//  0, or -1 (reason on stderr).
int bench_pg_check_add (bench_pg_check_t *self, const char *shop_id, const char *gateway_id,
                        const char *msg_id, int64_t stored_id);
//  gateways: a PostgreSQL array literal of the gateway ids ("{a,b}"). 0 or
//  -1 (reason on stderr). Destroys the check.
int bench_pg_check_finish (bench_pg_check_t **self_p, const char *gateways,
                           bench_pg_check_result_t *out);

#endif
