// Serialisation round trips of whole messages, for the tests that check
// every type crossing nodes is registered and inspected.

#pragma once

#include <vector>

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/test/unit_test.hpp>

namespace backfilld::test {

/// Serialises a whole message through the actor system's registry (as the
/// middleman does for remote nodes) and reads it back.
inline caf::message round_trip(caf::actor_system& sys,
                               const caf::message& msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(const_cast<caf::message&>(msg)))
    CAF_FAIL("serialization failed: " << sys.render(err));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(copy))
    CAF_FAIL("deserialization failed: " << sys.render(err));
  return copy;
}

/// The message of `xs` comes back with the same types and values.
template <class... Ts>
void check_round_trip(caf::actor_system& sys, Ts... xs) {
  auto msg = caf::make_message(std::move(xs)...);
  auto copy = round_trip(sys, msg);
  bool same_types = copy.template match_elements<Ts...>();
  CAF_CHECK(same_types);
  CAF_CHECK_EQUAL(caf::deep_to_string(copy), caf::deep_to_string(msg));
}

} // namespace backfilld::test
