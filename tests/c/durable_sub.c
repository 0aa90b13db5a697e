/* durable_sub.c: a durable subscriber through the C API, run against the
 * example broker by tests/broker_features.rs.
 *
 *   durable_sub PORT COUNT detach|close
 *
 * Connects to localhost:PORT as container "c-durable" and subscribes to
 * topic://news with the link name "sub-1", durability unsettled-state and
 * expiry policy never (a durable subscription), with credit for COUNT
 * messages only. Prints "subscribed" once the broker answers, then each
 * message body; after COUNT messages (at once for 0) it detaches the link
 * without closing it (the subscription stays, to resume) or closes it
 * (the subscription ends), and closes the connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#define CHECK(call)                                                              \
  do {                                                                           \
    muon_result rc_ = (call);                                                    \
    if (rc_ != MUON_RESULT_OK) {                                                 \
      fprintf(stderr, "durable_sub: %s: %s\n", #call, muon_result_name(rc_));   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static long count, received;
static int close_link, ended;
static muon_connection conn;

static void end(muon_receiver r) {
  ended = 1;
  CHECK(close_link ? muon_receiver_close(r) : muon_receiver_detach(r));
  CHECK(muon_connection_close(conn));
}

static void on_link_remote_open(void *app, const muon_event *ev) {
  (void)app;
  muon_receiver r = muon_event_receiver(ev);
  const muon_terminus *src = muon_receiver_remote_source(r);
  printf("subscribed to %s\n", muon_terminus_address(src));
  fflush(stdout);
  if (count == 0) end(r);
  else CHECK(muon_receiver_flow(r, (uint32_t)count));
}

static void on_message(void *app, const muon_event *ev) {
  (void)app;
  muon_bytes body;
  CHECK(muon_value_get_string(muon_message_body(muon_event_message(ev)), &body));
  printf("%.*s\n", (int)body.len, (const char *)body.ptr);
  fflush(stdout);
  if (++received == count) end(muon_event_receiver(ev));
}

/* The broker's answer to our detach or close; before it, a failure. */
static void on_link_remote_close(void *app, const muon_event *ev) {
  (void)app, (void)ev;
  if (ended) return;
  fprintf(stderr, "durable_sub: the broker closed the link\n");
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: durable_sub PORT COUNT detach|close\n");
    return 2;
  }
  count = atol(argv[2]);
  close_link = strcmp(argv[3], "close") == 0;
  char url[64];
  snprintf(url, sizeof url, "localhost:%s", argv[1]);
  muon_loop *loop;
  CHECK(muon_loop_new(&loop));
  muon_connection_options *co;
  CHECK(muon_connection_options_new(&co));
  CHECK(muon_connection_options_set_container_id(co, "c-durable"));
  CHECK(muon_loop_connect(loop, url, co, NULL, NULL, &conn));
  muon_connection_options_free(co);
  muon_link_options *lo;
  CHECK(muon_link_options_new(&lo));
  CHECK(muon_link_options_set_name(lo, "sub-1"));
  CHECK(muon_link_options_set_durability(lo, MUON_DURABILITY_UNSETTLED_STATE));
  CHECK(muon_link_options_set_expiry_policy(lo, MUON_EXPIRY_POLICY_NEVER));
  CHECK(muon_link_options_set_credit_window(lo, 0));
  muon_handler h = MUON_HANDLER_INIT;
  h.on_link_remote_open = on_link_remote_open;
  h.on_message = on_message;
  h.on_link_remote_close = on_link_remote_close;
  CHECK(muon_connection_open_receiver(conn, "topic://news", lo, &h, NULL, NULL));
  muon_link_options_free(lo);
  CHECK(muon_loop_run(loop));
  muon_loop_free(loop);
  return 0;
}
