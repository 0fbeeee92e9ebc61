#define CAF_SUITE listener
#include "fakes.hpp"

#include "actors/listener.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

struct fixture : actor_fixture {
  std::shared_ptr<dedupe_log> log = std::make_shared<dedupe_log>();
  dedupe_actor queue = start(fake_dedupe, log);
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

CAF_TEST(a notification reaches dedupe as one sighting) {
  notify(R"({"asset_id": 12, "transaction_id": 1, "portfolio_id": 3})");
  expect((pg_notification), from(self).to(hdl));
  expect((asset_seen), from(hdl).to(queue));
  CAF_CHECK_EQUAL(log->seen, std::vector<asset_id>{12});
}

CAF_TEST(a malformed payload sends nothing on) {
  notify(R"({"asset_id": "12"})");
  expect((pg_notification), from(self).to(hdl));
  disallow((asset_seen), from(hdl).to(queue));
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

CAF_TEST(every LISTEN start triggers a catch-up) {
  self->send(hdl, atom::listening_v, int32_t{100});
  settle();
  CAF_CHECK_EQUAL(log->catch_ups, 1);
  self->send(hdl, atom::lost_v, std::string{"server closed the connection"});
  self->send(hdl, atom::listening_v, int32_t{101});
  settle();
  CAF_CHECK_EQUAL(log->catch_ups, 2);
}

CAF_TEST(a restarted dedupe actor is used from then on) {
  auto other_log = std::make_shared<dedupe_log>();
  auto other = start(fake_dedupe, other_log);
  self->send(hdl, other);
  notify(R"({"asset_id": 15})");
  settle();
  CAF_CHECK(log->seen.empty());
  CAF_CHECK_EQUAL(other_log->seen, std::vector<asset_id>{15});
}

CAF_TEST_FIXTURE_SCOPE_END()
