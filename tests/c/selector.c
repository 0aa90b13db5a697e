/* selector.c: muon_selector from C (JMS selectors, as a server honouring
 * the apache.org:selector-filter:string filter uses them), compiled and run
 * by tests/c_values.rs. It checks results itself (exit 1 with a message on
 * stderr at the first failure) and prints what it found, which the Rust
 * test compares line by line. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muon.h"

#include "value_check.h"

static muon_message *order(const char *colour, long long weight, unsigned priority) {
  muon_message *m;
  OK(muon_message_new(&m));
  OK(muon_message_set_property_string(m, "colour", colour));
  OK(muon_message_set_property_long(m, "weight", weight));
  OK(muon_message_set_priority(m, (uint8_t)priority));
  OK(muon_message_set_subject(m, "order"));
  return m;
}

static void show(const char *text) {
  muon_selector *sel;
  muon_result rc = muon_selector_new(text, strlen(text), &sel);
  if (rc != MUON_RESULT_OK) {
    printf("%s -> %s: %s\n", text, muon_result_name(rc), muon_last_error());
    return;
  }
  CHECK(muon_last_error() == NULL);
  CHECK(strcmp(muon_selector_text(sel), text) == 0);
  muon_message *msgs[3] = {order("red", 12, 4), order("green", 3, 9), order("blue", 20, 4)};
  printf("%s ->", text);
  for (int i = 0; i < 3; i++) {
    bool match = false;
    OK(muon_selector_matches(sel, msgs[i], &match));
    printf(" %s", match ? "yes" : "no");
    muon_message_free(msgs[i]);
  }
  printf("\n");
  muon_selector_free(sel);
}

int main(void) {
  show("colour = 'red'");
  show("weight > 10 AND colour <> 'red'");
  show("colour IN ('red', 'green') OR JMSPriority >= 9");
  show("colour LIKE '%e%' AND NOT weight BETWEEN 1 AND 5");
  show("missing = 1 OR missing IS NULL AND JMSType = 'order'");
  show("colour == 'red'");
  show("colour = 'red");
  show("weight IN (colour)");

  /* The filter a selector answers with, from muon_selector_new. */
  muon_selector *sel;
  OK(muon_selector_new("weight < 5", 10, &sel));
  printf("filter: %s\n", fmt(muon_selector_filter(sel)));
  muon_selector_free(sel);

  /* From a peer's filter set: the selector under any key, described by
   * the numeric code; other filters ignored. */
  muon_value *set, *k, *d, *code, *text, *other;
  OK(muon_value_map_new(&set));
  OK(muon_value_symbol("other", &k));
  OK(muon_value_symbol("com.example:filter", &code));
  OK(muon_value_long(5, &text));
  OK(muon_value_described_new(code, text, &other));
  OK(muon_value_map_put(set, k, other));
  EXPECT(muon_selector_from_filter(set, &sel), MUON_RESULT_NOT_FOUND);
  OK(muon_value_symbol("my-selector", &k));
  OK(muon_value_ulong(0x0000468C00000004ull, &code));
  OK(muon_value_string("colour = 'green'", &text));
  OK(muon_value_described_new(code, text, &d));
  OK(muon_value_map_put(set, k, d));
  OK(muon_selector_from_filter(set, &sel));
  printf("from filter: %s\n", muon_selector_text(sel));
  printf("answers: %s\n", fmt(muon_selector_filter(sel)));
  muon_message *m = order("green", 1, 4);
  bool match = false;
  OK(muon_selector_matches(sel, m, &match));
  printf("green matches: %s\n", match ? "yes" : "no");
  muon_message_free(m);
  muon_selector_free(sel);
  muon_value_free(set);

  /* A bad selector in a filter set, and a filter set that is not a map. */
  OK(muon_value_map_new(&set));
  OK(muon_value_symbol("jms-selector", &k));
  OK(muon_value_symbol("apache.org:selector-filter:string", &code));
  OK(muon_value_string("NOT", &text));
  OK(muon_value_described_new(code, text, &d));
  OK(muon_value_map_put(set, k, d));
  EXPECT(muon_selector_from_filter(set, &sel), MUON_RESULT_INVALID_ARGUMENT);
  printf("bad filter: %s\n", muon_last_error());
  muon_value_free(set);
  OK(muon_value_string("colour = 'red'", &text));
  EXPECT(muon_selector_from_filter(text, &sel), MUON_RESULT_WRONG_TYPE);
  muon_value_free(text);
  EXPECT(muon_selector_new("\xff", 1, &sel), MUON_RESULT_INVALID_UTF8);
  printf("selector: ok\n");
  return 0;
}
