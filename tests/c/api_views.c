/* Pointers returned by getters: what a connection's or link's getter
 * returns stays valid until that object's final event has been dispatched,
 * however often the same or other getters are called in between. Results
 * of the same getter and of several getters are held at once, from one
 * callback to a later one, and used after further calls; a getter called
 * again with nothing changed returns the same pointer, 100,000 times over.
 * Run under ASan by tests/c_api.rs: a pointer used after its memory was
 * freed fails the run. Also the capability tests of links. */
#define _POSIX_C_SOURCE 200809L
#include "api_check.h"

#define CALLS 100000

/* What the server held of the client's sender (its receiver) and of the
 * client's connection, and what the client held of the server's answer. */
struct held {
    const char *name, *name_again, *target_address;
    const muon_terminus *target, *target_again, *source;
    const muon_value *link_properties;
    const char *container_id, *hostname;
    const muon_value *conn_properties, *conn_properties_again;
    const muon_condition *remote_condition;
};

struct app {
    muon_loop *loop;
    muon_listener listener;
    struct held server;        /* the server's view of the client */
    struct held client;        /* the client's view of the server */
    int server_links_open;     /* the server's receiver and sender */
    int client_links_final;
    int server_receiver_final;
    int client_conn_final;
    int server_conn_final;
};

static muon_value *symbol_map(const char *key, const char *text) {
    muon_value *m = NULL, *k = NULL, *v = NULL;
    OK(muon_value_map_new(&m));
    OK(muon_value_symbol(key, &k));
    OK(muon_value_string(text, &v));
    OK(muon_value_map_put(m, k, v));
    return m;
}

/* The string under the symbol key `key` of map `m` is `want`. */
static void check_entry(const muon_value *m, const char *key, const char *want) {
    muon_bytes b = {NULL, 0};
    OK(muon_value_get_string(muon_value_map_get_symbol_key(m, key), &b));
    CHECK(b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0);
}

/* ---- the server: the listener's side ------------------------------------ */

static void server_link_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_connection c = muon_event_connection(ev);
    a->server_links_open++;
    if (!muon_event_is_receiver(ev)) {
        /* The server's sender: the client's receiver asked the same. */
        muon_sender s = muon_event_sender(ev);
        CHECK(muon_sender_remote_offers_capability(s, "x-offered"));
        CHECK(muon_sender_remote_desires_capability(s, "x-desired"));
        CHECK(!muon_sender_remote_desires_capability(s, "x-offered"));
        CHECK_STR(muon_terminus_address(muon_sender_remote_source(s)), "views-queue");
        return;
    }
    muon_receiver r = muon_event_receiver(ev);
    struct held *h = &a->server;

    /* Two results of one getter, and results of several getters, at once. */
    h->name = muon_receiver_name(r);
    h->target = muon_receiver_remote_target(r);
    h->source = muon_receiver_remote_source(r);
    h->target_address = muon_receiver_remote_target_address(r);
    h->link_properties = muon_receiver_remote_properties(r);
    h->container_id = muon_connection_remote_container_id(c);
    h->hostname = muon_connection_remote_hostname(c);
    h->conn_properties = muon_connection_remote_properties(c);
    h->name_again = muon_receiver_name(r);
    h->target_again = muon_receiver_remote_target(r);
    h->conn_properties_again = muon_connection_remote_properties(c);
    CHECK(h->name != NULL && h->target != NULL && h->source != NULL);
    CHECK(h->link_properties != NULL && h->container_id != NULL && h->conn_properties != NULL);

    /* Unchanged: the same pointers. */
    CHECK(h->name_again == h->name);
    CHECK(h->target_again == h->target);
    CHECK(h->conn_properties_again == h->conn_properties);

    /* Every getter, many times over: nothing held above moves or is freed,
     * and nothing more is kept. */
    for (int i = 0; i < CALLS; i++) {
        CHECK(muon_receiver_name(r) == h->name);
        CHECK(muon_receiver_remote_target(r) == h->target);
        CHECK(muon_receiver_remote_source(r) == h->source);
        CHECK(muon_receiver_remote_target_address(r) == h->target_address);
        CHECK(muon_receiver_remote_properties(r) == h->link_properties);
        CHECK(muon_connection_remote_container_id(c) == h->container_id);
        CHECK(muon_connection_remote_properties(c) == h->conn_properties);
        CHECK(muon_receiver_local_condition(r) == NULL);
    }

    /* Both results of each getter are still good after all those calls. */
    CHECK_STR(h->name, "views-link");
    CHECK_STR(h->name_again, "views-link");
    CHECK_STR(muon_terminus_address(h->target), "views-queue");
    CHECK_STR(muon_terminus_address(h->target_again), "views-queue");
    CHECK(muon_terminus_has_capability(h->target, "queue"));
    CHECK(muon_terminus_durability(h->target) == MUON_DURABILITY_CONFIGURATION);
    CHECK_STR(h->target_address, "views-queue");
    check_entry(h->link_properties, "k", "link");
    CHECK_STR(h->container_id, "views-client");
    check_entry(h->conn_properties, "role", "client");
    check_entry(h->conn_properties_again, "role", "client");

    CHECK(muon_receiver_remote_offers_capability(r, "x-offered"));
    CHECK(muon_receiver_remote_desires_capability(r, "x-desired"));
    CHECK(!muon_receiver_remote_offers_capability(r, "x-desired"));
}

static void server_link_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (!muon_event_is_receiver(ev))
        return;
    /* Held since on_link_remote_open, through many calls and events: still
     * valid in the final callback itself. */
    struct held *h = &a->server;
    CHECK_STR(h->name, "views-link");
    CHECK_STR(muon_terminus_address(h->target), "views-queue");
    CHECK(muon_terminus_address(h->source) == NULL);
    check_entry(h->link_properties, "k", "link");
    CHECK_STR(muon_condition_name(h->remote_condition), "amqp:internal-error");
    CHECK_STR(muon_condition_description(h->remote_condition), "done");
    a->server_receiver_final++;
}

static void server_link_close(void *ud, const muon_event *ev) {
    struct app *a = ud;
    if (muon_event_is_receiver(ev))
        a->server.remote_condition = muon_receiver_remote_condition(muon_event_receiver(ev));
}

static void server_conn_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    struct held *h = &a->server;
    CHECK_STR(h->container_id, "views-client");
    check_entry(h->conn_properties, "role", "client");
    CHECK_STR(h->hostname, "127.0.0.1");
    a->server_conn_final++;
    OK(muon_listener_close(a->listener));
}

/* ---- the client ----------------------------------------------------------- */

static void client_open(void *ud, const muon_event *ev) {
    (void)ud;
    muon_connection c = muon_event_connection(ev);
    muon_link_options *lo = NULL;
    OK(muon_link_options_new(&lo));
    OK(muon_link_options_set_name(lo, "views-link"));
    OK(muon_link_options_add_capability(lo, "queue"));
    OK(muon_link_options_add_offered_capability(lo, "x-offered"));
    OK(muon_link_options_add_desired_capability(lo, "x-desired"));
    OK(muon_link_options_set_durability(lo, MUON_DURABILITY_CONFIGURATION));
    muon_value *props = symbol_map("k", "link");
    OK(muon_link_options_set_properties(lo, props));
    muon_value_free(props);
    OK(muon_connection_open_sender(c, "views-queue", lo, NULL, NULL, NULL));
    OK(muon_link_options_set_name(lo, "views-link-2"));
    OK(muon_connection_open_receiver(c, "views-queue", lo, NULL, NULL, NULL));
    muon_link_options_free(lo);
}

static void client_link_open(void *ud, const muon_event *ev) {
    struct app *a = ud;
    muon_connection c = muon_event_connection(ev);
    struct held *h = &a->client;
    if (muon_event_is_receiver(ev)) {
        OK(muon_receiver_close(muon_event_receiver(ev)));
        return;
    }
    muon_sender s = muon_event_sender(ev);
    h->name = muon_sender_name(s);
    h->target = muon_sender_remote_target(s);
    h->target_address = muon_sender_remote_target_address(s);
    h->container_id = muon_connection_remote_container_id(c);
    h->conn_properties = muon_connection_remote_properties(c);
    h->hostname = muon_connection_remote_hostname(c);
    CHECK_STR(h->container_id, "views-server");
    check_entry(h->conn_properties, "role", "server");
    CHECK_STR(h->target_address, "views-queue");
    /* Closing does not free what the getters returned. */
    OK(muon_sender_close_with(s, "amqp:internal-error", "done"));
    const muon_condition *local = muon_sender_local_condition(s);
    CHECK(local == muon_sender_local_condition(s));
    CHECK_STR(muon_condition_description(local), "done");
    CHECK_STR(h->name, "views-link");
    CHECK_STR(muon_terminus_address(h->target), "views-queue");
}

static void client_link_final(void *ud, const muon_event *ev) {
    struct app *a = ud;
    struct held *h = &a->client;
    if (!muon_event_is_receiver(ev)) {
        CHECK_STR(h->name, "views-link");
        CHECK_STR(muon_terminus_address(h->target), "views-queue");
        CHECK_STR(h->target_address, "views-queue");
    }
    if (++a->client_links_final == 2)
        OK(muon_connection_close(muon_event_connection(ev)));
}

static void client_conn_final(void *ud, const muon_event *ev) {
    (void)ev;
    struct app *a = ud;
    struct held *h = &a->client;
    CHECK_STR(h->container_id, "views-server");
    check_entry(h->conn_properties, "role", "server");
    a->client_conn_final++;
}

int main(void) {
    alarm(WATCHDOG_S);
    struct app a;
    memset(&a, 0, sizeof a);
    OK(muon_loop_new(&a.loop));

    muon_connection_options *so = NULL;
    OK(muon_connection_options_new(&so));
    OK(muon_connection_options_set_container_id(so, "views-server"));
    muon_value *sp = symbol_map("role", "server");
    OK(muon_connection_options_set_properties(so, sp));
    muon_value_free(sp);
    muon_handler sh = MUON_HANDLER_INIT;
    sh.on_link_remote_open = server_link_open;
    sh.on_link_remote_close = server_link_close;
    sh.on_link_final = server_link_final;
    sh.on_connection_final = server_conn_final;
    OK(muon_loop_listen(a.loop, "127.0.0.1:0", so, &sh, &a, &a.listener));
    muon_connection_options_free(so);

    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%u", (unsigned)muon_listener_port(a.listener));
    muon_connection_options *co = NULL;
    OK(muon_connection_options_new(&co));
    OK(muon_connection_options_set_container_id(co, "views-client"));
    muon_value *cp = symbol_map("role", "client");
    OK(muon_connection_options_set_properties(co, cp));
    muon_value_free(cp);
    muon_handler ch = MUON_HANDLER_INIT;
    ch.on_connection_remote_open = client_open;
    ch.on_link_remote_open = client_link_open;
    ch.on_link_final = client_link_final;
    ch.on_connection_final = client_conn_final;
    OK(muon_loop_connect(a.loop, url, co, &ch, &a, NULL));
    muon_connection_options_free(co);

    OK(muon_loop_run(a.loop));
    CHECK(a.server_links_open == 2);
    CHECK(a.server_receiver_final == 1);
    CHECK(a.client_links_final == 2);
    CHECK(a.client_conn_final == 1);
    CHECK(a.server_conn_final == 1);
    muon_loop_free(a.loop);
    puts("api_views: ok");
    return 0;
}
