/*
 * send_variant.h: turns Qpid Proton's unmodified examples/c/send.c into the
 * variants the benchmark needs, at compile time, without editing it:
 *
 *   cc -include send_variant.h -DBENCH_PAYLOAD=1024 /usr/share/.../send.c
 *   cc -include send_variant.h -DBENCH_PRESETTLED   /usr/share/.../send.c
 *
 * BENCH_PAYLOAD=N  appends "payload": <a string of N 'x'> to the body map,
 *                  which becomes {"sequence": n, "payload": "xx..."} (muon's
 *                  bench sender builds the same body with --payload N).
 * BENCH_PRESETTLED opens the link with snd-settle-mode settled, settles each
 *                  delivery as it is sent, and closes the connection after the
 *                  last one (send.c otherwise waits for acknowledgements that
 *                  never come for presettled deliveries).
 *
 * How: the Proton headers are included first (their include guards keep
 * send.c's own #includes from re-reading them), then three Proton functions
 * that send.c calls are wrapped in function-like macros. A function-like macro
 * does not expand inside its own replacement, so each wrapper still reaches the
 * real function. Nothing else in send.c changes: same event loop, same
 * message-id, same delivery tags, same (absent) local settlement.
 */
#ifndef MUON_BENCH_SEND_VARIANT_H
#define MUON_BENCH_SEND_VARIANT_H

#include <proton/codec.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/session.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef BENCH_PAYLOAD
static char bench_payload[BENCH_PAYLOAD];

/* Called inside the body map, just before send.c leaves it. */
static inline void bench_add_payload(pn_data_t *body) {
  if (bench_payload[0] != 'x') memset(bench_payload, 'x', sizeof bench_payload);
  pn_data_put_string(body, pn_bytes(sizeof("payload") - 1, "payload"));
  pn_data_put_string(body, pn_bytes(sizeof bench_payload, bench_payload));
}
#define pn_data_exit(d) (bench_add_payload(d), pn_data_exit(d))
#endif

#ifdef BENCH_PRESETTLED
static inline void bench_link_open(pn_link_t *l) {
  if (pn_link_is_sender(l)) pn_link_set_snd_settle_mode(l, PN_SND_SETTLED);
  pn_link_open(l);
}
#define pn_link_open(l) bench_link_open(l)

static inline ssize_t bench_send_settled(pn_message_t *m, pn_link_t *l, pn_rwbytes_t *buf,
                                         bool last) {
  pn_delivery_t *d = pn_link_current(l);
  ssize_t n = pn_message_send(m, l, buf);
  if (d) pn_delivery_settle(d);
  if (last) pn_connection_close(pn_session_connection(pn_link_session(l)));
  return n;
}
/* `app` is send_message()'s parameter in send.c, where this expands. */
#define pn_message_send(m, l, b) bench_send_settled(m, l, b, app->sent == app->message_count)
#endif

#endif
