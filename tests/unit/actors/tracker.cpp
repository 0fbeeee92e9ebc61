#define CAF_SUITE tracker
#include "actor_fixture.hpp"

#include "actors/tracker.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// What the fake store was asked: (assets, fresh) per batch.
struct store_log {
  std::vector<std::pair<std::vector<asset_id>, std::vector<asset_id>>> batches;
  int failures_left = 0;
};

tracker_store_actor::behavior_type fake_store(tracker_store_actor::pointer,
                                              std::shared_ptr<store_log> log) {
  return {
    [=](atom::track, const std::vector<asset_id>& assets,
        const std::vector<asset_id>& fresh) -> caf::result<int32_t> {
      if (log->failures_left > 0) {
        --log->failures_left;
        return db_down();
      }
      log->batches.emplace_back(assets, fresh);
      return static_cast<int32_t>(assets.size());
    },
  };
}

struct fixture : actor_fixture {
  std::shared_ptr<store_log> log = std::make_shared<store_log>();
  tracker_store_actor store = start(fake_store, log);
  tracker_actor hdl =
    start(tracker, store,
          tracker_settings{std::chrono::seconds{5}, std::chrono::seconds{1}});
};

using ids = std::vector<asset_id>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(tracker_tests, fixture)

CAF_TEST(requests coalesce into batches while one is out) {
  self->send(hdl, atom::track_v, 1);
  self->send(hdl, atom::track_v, 2);
  self->send(hdl, atom::track_v, 2);
  self->send(hdl, atom::track_v, 1, atom::write_v);
  settle();
  CAF_REQUIRE_EQUAL(log->batches.size(), 2u);
  CAF_CHECK_EQUAL(log->batches[0].first, ids({1}));
  CAF_CHECK_EQUAL(log->batches[0].second, ids{});
  CAF_CHECK_EQUAL(log->batches[1].first, ids({1, 2}));
  CAF_CHECK_EQUAL(log->batches[1].second, ids({1}));
}

CAF_TEST(a catch-up batch is taken whole) {
  self->send(hdl, atom::track_v, ids{5, 6, 7});
  settle();
  CAF_REQUIRE_EQUAL(log->batches.size(), 1u);
  CAF_CHECK_EQUAL(log->batches[0].first, ids({5, 6, 7}));
}

CAF_TEST(a batch the store refused is retried later and nothing is lost) {
  log->failures_left = 2;
  self->send(hdl, atom::track_v, 3, atom::write_v);
  settle();
  CAF_CHECK(log->batches.empty());
  self->send(hdl, atom::track_v, 4);
  settle();
  CAF_CHECK(log->batches.empty());
  wait(1s);
  CAF_REQUIRE_EQUAL(log->batches.size(), 1u);
  CAF_CHECK_EQUAL(log->batches[0].first, ids({3, 4}));
  CAF_CHECK_EQUAL(log->batches[0].second, ids({3}));
}

CAF_TEST(flush answers once everything pending is stored) {
  // The first attempt and the one the flush forces both fail.
  log->failures_left = 2;
  self->send(hdl, atom::track_v, 8);
  settle();
  auto flushed = ask<int32_t>(hdl, atom::flush_v);
  settle();
  CAF_CHECK(!flushed->arrived());
  wait(1s);
  CAF_REQUIRE(flushed->value);
  CAF_CHECK_EQUAL(*flushed->value, 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
