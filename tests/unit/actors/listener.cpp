#define CAF_SUITE listener
#include "actor_fixture.hpp"

#include "actors/listener.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

struct queue_log {
  std::vector<asset_id> seen;
  int catch_ups = 0;
};

dedupe_actor::behavior_type fake_queue(dedupe_actor::pointer self,
                                       std::shared_ptr<queue_log> log) {
  return {
    [=](const asset_seen& x) { log->seen.push_back(x.asset); },
    [=](atom::catch_up) { ++log->catch_ups; },
    [=](atom::pull, uint32_t, const std::vector<job_id>&) {
      return self->make_response_promise<std::vector<backfill_job>>();
    },
    [](atom::done, const backfill_job&, const write_summary&) {},
    [](atom::failed, const backfill_job&, const job_failure&) {},
    [](atom::release, const std::vector<job_id>&) {},
    [](atom::drain) { return int32_t{0}; },
    [](atom::tick) {},
    [](atom::heartbeat) {},
    [](tracker_actor) {},
  };
}

struct fixture : actor_fixture {
  std::shared_ptr<queue_log> log = std::make_shared<queue_log>();
  dedupe_actor queue = start(fake_queue, log);
  listener_actor hdl = start(listener, queue);

  void notify(std::string payload) {
    self->send(
      hdl, pg_notification{"transaction_created", std::move(payload), 4242});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(listener_tests, fixture)

CAF_TEST(notifications become sightings) {
  notify(R"({"asset_id": 12, "transaction_id": 1, "portfolio_id": 1})");
  notify(R"({"asset_id": 13})");
  settle();
  CAF_CHECK_EQUAL(log->seen, std::vector<asset_id>({12, 13}));
}

CAF_TEST(malformed payloads are counted and never fatal) {
  auto before = metrics().notifications_rejected.load();
  notify("not json");
  notify(R"({"id": 12})");
  notify(R"({"asset_id": "12"})");
  notify(R"({"asset_id": -1})");
  notify(std::string(9000, 'x'));
  notify(R"({"asset_id": 14})");
  settle();
  CAF_CHECK_EQUAL(metrics().notifications_rejected.load(), before + 5);
  CAF_CHECK_EQUAL(log->seen, std::vector<asset_id>{14});
}

CAF_TEST(every LISTEN start triggers a catch - up) {
  self->send(hdl, atom::listening_v, int32_t{100});
  settle();
  CAF_CHECK_EQUAL(log->catch_ups, 1);
  self->send(hdl, atom::lost_v, std::string{"server closed the connection"});
  self->send(hdl, atom::listening_v, int32_t{101});
  settle();
  CAF_CHECK_EQUAL(log->catch_ups, 2);
}

CAF_TEST(a restarted queue is used from then on) {
  auto other_log = std::make_shared<queue_log>();
  auto other = start(fake_queue, other_log);
  self->send(hdl, other);
  notify(R"({"asset_id": 15})");
  settle();
  CAF_CHECK(log->seen.empty());
  CAF_CHECK_EQUAL(other_log->seen, std::vector<asset_id>{15});
}

CAF_TEST_FIXTURE_SCOPE_END()
