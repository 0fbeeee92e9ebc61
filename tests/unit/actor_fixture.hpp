// The shared fixture of the actor tests: a deterministic actor system with
// backfilld's message types, and helpers that keep every test reading alike.
//
// The actors under test run periodic timers, so tests drive them with
// `sched.run()` (messages only) and `advance_time` (timers), and the fixture
// stops every actor it spawned before the scheduler is drained for good.

#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <caf/test/dsl.hpp>

#include "messages/error.hpp"
#include "messages/interfaces.hpp"
#include "messages/type_ids.hpp"

namespace backfilld::test {

struct test_config : caf::actor_system_config {
  test_config() {
    register_messages(*this);
  }
};

/// The answer to a request made with `ask`, once it has come.
template <class T>
struct answer {
  std::optional<T> value;
  caf::error error;

  bool arrived() const {
    return value.has_value() || static_cast<bool>(error);
  }
};

/// Keeps an actor alive that only waits for answers.
inline caf::behavior idle_behavior() {
  return {[](int) {
  }};
}

struct actor_fixture : test_coordinator_fixture<test_config> {
  ~actor_fixture() override {
    for (auto& hdl : spawned)
      caf::anon_send_exit(hdl, caf::exit_reason::kill);
    sched.run();
  }

  /// Spawns an actor that the fixture stops at the end of the test.
  template <class... Ts>
  auto start(Ts&&... xs) {
    auto hdl = sys.spawn(std::forward<Ts>(xs)...);
    spawned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// Sends a request from a helper actor (the test's own blocking actor
  /// cannot wait on a deterministic scheduler) and keeps the answer.
  template <class T, class Handle, class... Ts>
  std::shared_ptr<answer<T>> ask(const Handle& hdl, Ts... xs) {
    auto result = std::make_shared<answer<T>>();
    // The handle goes in as a spawn argument: CAF 0.17 dereferences a null
    // argument tuple when an actor is spawned without any.
    start(
      [=](caf::event_based_actor* client, Handle to) {
        client->request(to, caf::infinite, xs...)
          .then([=](T& x) { result->value = std::move(x); },
                [=](caf::error& err) { result->error = std::move(err); });
        return idle_behavior();
      },
      hdl);
    return result;
  }

  /// Lets a freshly spawned actor run its start-up (which may send messages
  /// to itself and its peers) and nothing else, so that `expect` can follow
  /// the messages from there.
  template <class Handle>
  void boot(const Handle& hdl) {
    CAF_REQUIRE(sched.prioritize(hdl));
    sched.run_once();
  }

  /// Runs until no actor has a message left (timers do not fire).
  void settle() {
    sched.run();
  }

  /// Lets `d` of simulated time pass, firing due timers, then settles.
  void wait(caf::timespan d) {
    sched.clock().advance_time(d);
    sched.run();
  }

  std::vector<caf::actor> spawned;
};

/// A caf::error of ours, as a store would fail.
inline caf::error db_down() {
  return make_error(ec::database_unavailable, "connection refused");
}

} // namespace backfilld::test
