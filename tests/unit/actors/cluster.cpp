#define CAF_SUITE cluster
#include <caf/stateful_actor.hpp>

#include "fakes.hpp"
#include "round_trip.hpp"

#include "actors/cluster_gate.hpp"
#include "actors/job_queue.hpp"
#include "actors/node_session.hpp"
#include "actors/rate_limiter.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

// Registration and hand-back of fetcher nodes: the gate and the sessions
// with the real job queue in front of a fake job store, on CAF's
// deterministic scheduler. A "node" is a test actor that joined: killing it
// is what its connection closing looks like to the core (the proxy's down
// message).

namespace {

struct store_log {
  std::deque<std::vector<backfill_job>> claim_answers;
  std::vector<job_id> done;
  std::vector<job_id> released;
  std::vector<bool> refunds;
};

claim_store_actor::behavior_type fake_store(claim_store_actor::pointer,
                                            std::shared_ptr<store_log> log) {
  return {
    [=](atom::claim, uint32_t) {
      if (log->claim_answers.empty())
        return std::vector<backfill_job>{};
      auto jobs = std::move(log->claim_answers.front());
      log->claim_answers.pop_front();
      return jobs;
    },
    // Marks every job done; none of their leases was lost.
    [=](atom::done, const std::vector<job_id>& jobs) {
      log->done.insert(log->done.end(), jobs.begin(), jobs.end());
      return std::vector<job_id>{};
    },
    [=](atom::failed, const job_verdict&) { return true; },
    [=](atom::heartbeat, const std::vector<job_id>& jobs) {
      return static_cast<int32_t>(jobs.size());
    },
    [=](atom::release, const job_release& release) {
      log->refunds.push_back(release.refund_attempt);
      log->released.insert(log->released.end(), release.jobs.begin(),
                           release.jobs.end());
      return static_cast<int32_t>(release.jobs.size());
    },
  };
}

struct writer_log {
  std::vector<job_id> written;
};

writer_actor::behavior_type fake_writer(writer_actor::pointer,
                                        std::shared_ptr<writer_log> log) {
  return {
    [=](atom::write, const backfill_job& job, const price_series& series) {
      log->written.push_back(job.id);
      return write_summary{static_cast<int32_t>(series.bars.size()), 1, {}};
    },
    [](tracker_actor) {},
  };
}

/// What a joining node got back.
struct join_answer {
  node_session_actor session;
  node_terms terms;
  caf::error error;
  bool arrived = false;
};

backfill_job job(job_id id) {
  backfill_job j;
  j.id = id;
  j.asset = static_cast<asset_id>(id);
  j.symbol = "SYM" + std::to_string(id);
  j.attempts = 1;
  return j;
}

price_series one_bar() {
  price_series s;
  s.symbol = "SYM";
  s.bars.push_back(price_bar{19'800, 1, 1, 1, 1, 1, 1});
  return s;
}

struct fixture : actor_fixture {
  std::shared_ptr<store_log> store_book = std::make_shared<store_log>();
  std::shared_ptr<writer_log> writer_book = std::make_shared<writer_log>();
  claim_store_actor store = start(fake_store, store_book);
  writer_actor writer = start(fake_writer, writer_book);
  job_queue_actor queue;
  cluster_gate_actor gate;

  fixture() {
    job_queue_settings q;
    q.poll_interval = 1s;
    q.heartbeat_interval = 60s;
    q.store_timeout = 5s;
    q.seed = 1;
    queue = start(job_queue, store, q);
    cluster_gate_settings g;
    g.protocol = 3;
    g.heartbeat_interval = 1s;
    g.heartbeat_timeout = 5s;
    g.store_timeout = 5s;
    g.requests_per_second = 9;
    g.local_fetcher = true;
    gate = start(cluster_gate, cluster_store_actor{}, g);
    settle();
    caf::anon_send(gate, queue);
    caf::anon_send(gate, writer);
    settle();
  }

  ~fixture() override {
    // The sessions are linked to the gate: they stop with it.
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
    settle();
  }

  /// A node that joins with `protocol` and stays until killed.
  std::pair<caf::actor, std::shared_ptr<join_answer>>
  join(const std::string& name, int32_t protocol = 3) {
    auto answer = std::make_shared<join_answer>();
    auto node = start(
      [=](caf::event_based_actor* self, cluster_gate_actor to) {
        self
          ->request(to, caf::infinite, atom::join_v, node_hello{protocol, name})
          .then(
            [=](node_session_actor& session, node_terms& terms) {
              answer->session = std::move(session);
              answer->terms = terms;
              answer->arrived = true;
            },
            [=](caf::error& err) {
              answer->error = std::move(err);
              answer->arrived = true;
            });
        return idle_behavior();
      },
      gate);
    settle();
    CAF_REQUIRE(answer->arrived);
    return {node, answer};
  }

  /// The node's fetcher pulls through the session.
  std::shared_ptr<answer<std::vector<backfill_job>>>
  pull(const node_session_actor& session, uint32_t capacity,
       std::vector<job_id> held = {}) {
    auto result = ask<std::vector<backfill_job>>(session, atom::pull_v,
                                                 capacity, std::move(held));
    settle();
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_tests, fixture)

CAF_TEST(the node messages survive serialisation) {
  check_round_trip(sys, atom::join_v, node_hello{1, "fetch-2"});
  check_round_trip(sys, node_terms{500, 3000, 2.5});
  check_round_trip(sys, atom::report_v,
                   node_report{"fetch-2", 1, 2, 3, 4, 5, 6, "disconnected"});
  check_round_trip(sys, std::vector<node_report>{{"a", 1, 2, 3, 4, 5, 6, ""}},
                   caf::timespan{1h});
  check_round_trip(sys, atom::heartbeat_v);
  check_round_trip(sys, atom::cap_v, 1.5);
  check_round_trip(sys, atom::write_v, job(7), one_bar());
}

CAF_TEST(a node of another protocol version is refused) {
  auto [node, answer] = join("old", 2);
  CAF_CHECK(is(answer->error, ec::protocol_mismatch));
  CAF_CHECK_EQUAL(render(answer->error),
                  "protocol_mismatch: protocol 2, core speaks 3");
  CAF_CHECK(!answer->session);
  CAF_CHECK_EQUAL(metrics().cluster_nodes.load(), 0);
}

CAF_TEST(a node of the same version gets a session and its share of the rate) {
  auto [a, first] = join("a");
  CAF_REQUIRE(first->session);
  CAF_CHECK_EQUAL(first->terms.heartbeat_interval_ms, 1000);
  CAF_CHECK_EQUAL(first->terms.heartbeat_timeout_ms, 5000);
  // Nine requests a second over the core's fetcher and this node.
  CAF_CHECK_EQUAL(first->terms.rate_cap, 4.5);
  auto [b, second] = join("b");
  CAF_CHECK_EQUAL(second->terms.rate_cap, 3.0);
  // The first node learns its new share with its next heartbeat.
  auto cap = ask<double>(first->session, atom::heartbeat_v);
  settle();
  CAF_REQUIRE(cap->value);
  CAF_CHECK_EQUAL(*cap->value, 3.0);
  CAF_CHECK_EQUAL(metrics().cluster_nodes.load(), 2);
}

CAF_TEST(the session pulls as the holder and a lost node hands its jobs back) {
  auto [node, joined] = join("a");
  auto session = joined->session;
  store_book->claim_answers.push_back({job(1), job(2)});
  auto got = pull(session, 2);
  CAF_REQUIRE(got->value);
  CAF_CHECK_EQUAL(got->value->size(), 2u);
  // The connection closes: the proxy of the node's link goes down.
  caf::anon_send_exit(node, caf::exit_reason::remote_link_unreachable);
  settle();
  // The queue handed back exactly the node's jobs, at once, attempt counted.
  CAF_CHECK_EQUAL(store_book->released, (std::vector<job_id>{1, 2}));
  CAF_CHECK_EQUAL(store_book->refunds, (std::vector<bool>{false}));
  // And the session is gone: a late write gets an error, never the writer.
  auto late = ask<write_summary>(session, atom::write_v, job(1), one_bar());
  settle();
  CAF_CHECK(late->error);
  CAF_CHECK(writer_book->written.empty());
}

CAF_TEST(a write for a job not in the hands of the node is refused) {
  auto [node, joined] = join("a");
  auto session = joined->session;
  store_book->claim_answers.push_back({job(1)});
  pull(session, 1);
  auto stray = ask<write_summary>(session, atom::write_v, job(99), one_bar());
  settle();
  CAF_CHECK(is(stray->error, ec::job_not_in_hand));
  CAF_CHECK(writer_book->written.empty());
  auto mine = ask<write_summary>(session, atom::write_v, job(1), one_bar());
  settle();
  CAF_REQUIRE(mine->value);
  CAF_CHECK_EQUAL(mine->value->bars, 1);
  CAF_CHECK_EQUAL(writer_book->written, (std::vector<job_id>{1}));
  // Its outcome reaches the queue, and the store, once.
  caf::anon_send(session, atom::done_v, job(1), *mine->value);
  caf::anon_send(session, atom::done_v, job(1), *mine->value);
  settle();
  CAF_CHECK_EQUAL(store_book->done, (std::vector<job_id>{1}));
}

CAF_TEST(a node cannot claim jobs it was never handed) {
  auto [node, joined] = join("a");
  auto session = joined->session;
  store_book->claim_answers.push_back({job(1)});
  pull(session, 1);
  // It says it holds 1 and 42; only 1 is the queue's business.
  pull(session, 0, {1, 42});
  caf::anon_send_exit(node, caf::exit_reason::remote_link_unreachable);
  settle();
  CAF_CHECK_EQUAL(store_book->released, (std::vector<job_id>{1}));
}

CAF_TEST(a silent node is dropped after the heartbeat timeout) {
  auto [node, joined] = join("a");
  auto session = joined->session;
  store_book->claim_answers.push_back({job(1), job(2), job(3)});
  pull(session, 3);
  // Heartbeats keep it: 8 s of one a second, past the 5 s timeout.
  for (int i = 0; i < 8; ++i) {
    ask<double>(session, atom::heartbeat_v);
    wait(1s);
  }
  CAF_CHECK(store_book->released.empty());
  // Then nothing (SIGSTOP, a partition): dropped, its jobs handed back.
  for (int i = 0; i < 6; ++i)
    wait(1s);
  CAF_CHECK_EQUAL(store_book->released, (std::vector<job_id>{1, 2, 3}));
  auto late = ask<double>(session, atom::heartbeat_v);
  settle();
  CAF_CHECK(late->error);
}

CAF_TEST(a node that joins again replaces its old session) {
  auto [old_node, first] = join("a");
  store_book->claim_answers.push_back({job(1)});
  pull(first->session, 1);
  auto [new_node, second] = join("a");
  CAF_REQUIRE(second->session);
  // The old session's job belonged to a fetcher that is gone.
  CAF_CHECK_EQUAL(store_book->released, (std::vector<job_id>{1}));
  CAF_CHECK_EQUAL(metrics().cluster_nodes.load(), 1);
}

CAF_TEST(the own fetcher of the core takes a share of the rate like a node) {
  auto limiter =
    start(rate_limiter, rate_limiter_settings{{{"yahoo", 20.0, 5.0}}, {}});
  auto cap_of = [&] {
    return deref<
             caf::stateful_actor<rate_limiter_state, rate_limiter_actor::base>>(
             limiter)
      .state.cap;
  };
  caf::anon_send(gate, limiter);
  settle();
  // Alone, the core's fetcher has the whole cluster rate.
  CAF_CHECK_EQUAL(cap_of(), 9.0);
  auto [a, first] = join("a");
  CAF_CHECK_EQUAL(cap_of(), 4.5);
  auto [b, second] = join("b");
  CAF_CHECK_EQUAL(cap_of(), 3.0);
  caf::anon_send_exit(b, caf::exit_reason::remote_link_unreachable);
  settle();
  CAF_CHECK_EQUAL(cap_of(), 4.5);
  // A restarted limiter is capped as soon as the gate hears of it.
  auto again =
    start(rate_limiter, rate_limiter_settings{{{"yahoo", 20.0, 5.0}}, {}});
  caf::anon_send(gate, again);
  settle();
  using limiter_impl =
    caf::stateful_actor<rate_limiter_state, rate_limiter_actor::base>;
  auto again_cap = deref<limiter_impl>(again).state.cap;
  CAF_CHECK_EQUAL(again_cap, 4.5);
}

CAF_TEST(the rate share splits the cluster cap over its fetchers) {
  CAF_CHECK_EQUAL(rate_share(0, 3), 0.0);
  CAF_CHECK_EQUAL(rate_share(10, 4), 2.5);
  CAF_CHECK_EQUAL(rate_share(10, 0), 10.0);
}

CAF_TEST_FIXTURE_SCOPE_END()
