/*  bench_zmq — the machine's raw ZeroMQ limit for intake's traffic shape.

    DEALER clients (one thread each, like gateways) send frames of a given
    size over tcp loopback to one ROUTER, which answers each with an ack
    frame of a given size and does nothing else: no unpacking, no database.
    Each client keeps up to `window` frames in flight, as libkefu-gateway
    does. The result is the ceiling intake's gateway path cannot beat on
    this machine: acked round trips per second, and the latency under that
    load. With clients = 1 and window = 1 it is the plain round-trip time.

        bench_zmq_opts_t opts = {8, 1000, 200000, 120, 40};
        bench_zmq_result_t result;
        if (bench_zmq_run (&opts, &result) == 0)
            printf ("%.0f/s\n", result.per_s); */
#ifndef BENCH_ZMQ_H
#define BENCH_ZMQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int clients;         //  DEALER sockets, one thread each
    int window;          //  frames in flight per client
    int64_t round_trips; //  total round trips (split evenly between clients)
    size_t frame_bytes;  //  size of each request frame (>= 8)
    size_t ack_bytes;    //  size of each answer frame (>= 8)
} bench_zmq_opts_t;

typedef struct {
    int64_t done;   //  round trips completed
    double seconds; //  from the common start to the last ack
    double per_s;   //  done / seconds
    double p50_ms;  //  round-trip latency (send to ack received)
    double p99_ms;
    double p999_ms;
} bench_zmq_result_t;

//  Run once. Returns 0, or -1 (reason on stderr) if sockets could not be
//  set up or the round trips did not complete within a minute.
int bench_zmq_run (const bench_zmq_opts_t *opts, bench_zmq_result_t *out);

#endif
