#define CAF_SUITE dedupe
#include "fakes.hpp"

#include <map>

#include "actors/dedupe.hpp"
#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// A scripted job store: answers enqueue per asset and records every batch.
struct store_log {
  std::map<asset_id, enqueue_outcome> outcomes;
  std::vector<std::vector<asset_id>> enqueued;
  int catch_ups = 0;
  /// The mark each scan was asked to start after (negative: a full scan).
  std::vector<int64_t> scan_marks;
  std::vector<enqueue_result> catch_up_answer;
  /// What the table's newest transaction id is, for the reports.
  int64_t newest_transaction = 100;
  int catch_up_failures_left = 0;
  int failures_left = 0;

  std::vector<enqueue_result> answer(const std::vector<asset_id>& assets) {
    std::vector<enqueue_result> result;
    for (auto asset : assets) {
      auto i = outcomes.find(asset);
      enqueue_result r;
      r.asset = asset;
      r.symbol = "SYM" + std::to_string(asset);
      r.outcome =
        i == outcomes.end() ? enqueue_outcome::unknown_asset : i->second;
      result.push_back(r);
    }
    return result;
  }
};

enqueue_store_actor::behavior_type fake_store(enqueue_store_actor::pointer,
                                              std::shared_ptr<store_log> log) {
  using answer = caf::result<std::vector<enqueue_result>>;
  return {
    [=](atom::enqueue, const std::vector<asset_id>& assets) -> answer {
      if (log->failures_left > 0) {
        --log->failures_left;
        return db_down();
      }
      log->enqueued.push_back(assets);
      return log->answer(assets);
    },
    [=](atom::catch_up, const scan_mark& mark) -> caf::result<catch_up_report> {
      ++log->catch_ups;
      log->scan_marks.push_back(mark.transaction);
      if (log->catch_up_failures_left > 0) {
        --log->catch_up_failures_left;
        return db_down();
      }
      return catch_up_report{log->catch_up_answer,
                             scan_mark{log->newest_transaction, 7},
                             mark.transaction < 0};
    },
  };
}

using batch = std::vector<asset_id>;
using results = std::vector<enqueue_result>;
using marks = std::vector<int64_t>;

struct fixture : actor_fixture {
  std::shared_ptr<store_log> store_book = std::make_shared<store_log>();
  std::shared_ptr<tracker_log> tracker_book = std::make_shared<tracker_log>();
  std::shared_ptr<queue_script> queue_book = std::make_shared<queue_script>();
  enqueue_store_actor store = start(fake_store, store_book);
  tracker_actor tracker = start(fake_tracker, tracker_book);
  job_queue_actor queue;
  dedupe_actor hdl;

  fixture() {
    queue_book->allowed = {"wake"};
    queue = start(fake_job_queue, queue_book);
    dedupe_settings s;
    s.poll_interval = 1s;
    s.catch_up_interval = 60s;
    s.full_catch_up_interval = 300s;
    s.store_timeout = 5s;
    s.max_sightings = 100;
    hdl = start(dedupe, store, tracker, queue, s);
  }

  /// Lets the start-up catch-up run its course.
  void started() {
    settle();
    CAF_REQUIRE_EQUAL(store_book->catch_ups, 1);
  }

  void see(asset_id asset) {
    self->send(hdl, asset_seen{asset, 0, 0});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(dedupe_tests, fixture)

CAF_TEST(it catches up at start with a full scan) {
  // Its start-up sends it a tick, which starts the scan at once.
  boot(hdl);
  expect((atom::catch_up, scan_mark), from(hdl).to(store));
  CAF_CHECK_EQUAL(store_book->scan_marks, marks{-1});
  expect((catch_up_report), from(store).to(hdl));
  disallow((atom::wake), from(hdl).to(queue));
}

CAF_TEST(a new asset becomes a job and wakes the queue) {
  started();
  store_book->outcomes[12] = enqueue_outcome::queued;
  see(12);
  expect((asset_seen), from(self).to(hdl));
  expect((atom::enqueue, batch), from(hdl).to(store).with(_, batch{12}));
  expect((results), from(store).to(hdl));
  expect((atom::wake), from(hdl).to(queue));
  disallow((atom::track, asset_id), from(hdl).to(tracker));
}

CAF_TEST(an asset with prices only gets its tracking refreshed) {
  started();
  store_book->outcomes[5] = enqueue_outcome::has_prices;
  see(5);
  expect((asset_seen), from(self).to(hdl));
  expect((atom::enqueue, batch), from(hdl).to(store).with(_, batch{5}));
  expect((results), from(store).to(hdl));
  expect((atom::track, asset_id), from(hdl).to(tracker).with(_, 5));
  disallow((atom::wake), from(hdl).to(queue));
}

CAF_TEST(a flood of duplicate sightings costs at most two round trips) {
  started();
  store_book->outcomes[12] = enqueue_outcome::queued;
  for (int i = 0; i < 500; ++i)
    see(12);
  settle();
  // Queued at least once, and folded: one batch in flight, one behind it.
  CAF_REQUIRE(!store_book->enqueued.empty());
  CAF_CHECK_LESS_OR_EQUAL(store_book->enqueued.size(), 2u);
  for (const auto& b : store_book->enqueued)
    CAF_CHECK_EQUAL(b, batch{12});
}

CAF_TEST(unknown assets are dropped and counted) {
  started();
  auto unknown_before = metrics().unknown_assets.load();
  see(99);
  settle();
  CAF_CHECK_EQUAL(metrics().unknown_assets.load(), unknown_before + 1);
  CAF_CHECK(tracker_book->tracked.empty());
  CAF_CHECK_EQUAL(queue_book->wakes, 0);
}

CAF_TEST(sightings the store could not take are sent again at the next tick) {
  started();
  store_book->outcomes[7] = enqueue_outcome::queued;
  store_book->failures_left = 1;
  see(7);
  settle();
  CAF_CHECK(store_book->enqueued.empty());
  wait(1s);
  CAF_CHECK_EQUAL(store_book->enqueued, std::vector<batch>{batch{7}});
  CAF_CHECK_EQUAL(queue_book->wakes, 1);
}

CAF_TEST(a catch-up request scans the table and repairs tracking) {
  started();
  store_book->catch_up_answer = {
    {30, "GONE", enqueue_outcome::queued, false, hold_reason::none, ""},
    {31, "OLD", enqueue_outcome::has_prices, false, hold_reason::none, ""}};
  self->send(hdl, atom::catch_up_v);
  expect((atom::catch_up), from(self).to(hdl));
  // Only what changed since the start-up scan.
  expect((atom::catch_up, scan_mark), from(hdl).to(store));
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1, 100}));
  expect((catch_up_report), from(store).to(hdl));
  expect((atom::track, asset_id), from(hdl).to(tracker).with(_, 31));
  expect((atom::wake), from(hdl).to(queue));
}

CAF_TEST(never two catch-ups at once and none is lost) {
  started();
  self->send(hdl, atom::catch_up_v);
  self->send(hdl, atom::catch_up_v);
  expect((atom::catch_up), from(self).to(hdl));
  expect((atom::catch_up, scan_mark), from(hdl).to(store));
  // The second request arrives while the first scan runs: it waits.
  expect((atom::catch_up), from(self).to(hdl));
  disallow((atom::catch_up, scan_mark), from(hdl).to(store));
  expect((catch_up_report), from(store).to(hdl));
  // ... and runs once the first is done.
  expect((atom::catch_up, scan_mark), from(hdl).to(store));
  expect((catch_up_report), from(store).to(hdl));
  CAF_CHECK_EQUAL(store_book->catch_ups, 3);
}

CAF_TEST(the periodic catch-up comes after its interval) {
  started();
  wait(30s);
  CAF_CHECK_EQUAL(store_book->catch_ups, 1);
  wait(31s);
  CAF_CHECK_EQUAL(store_book->catch_ups, 2);
}

CAF_TEST(scans read what changed and everything only on the long interval) {
  started();
  for (int minute = 1; minute <= 5; ++minute) {
    store_book->newest_transaction = 100 + minute;
    wait(60s);
  }
  // Full at start; then each scan starts after the mark the previous one
  // reported; at five minutes a full scan again.
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1, 100, 101, 102, 103, -1}));
}

CAF_TEST(a failed full scan is tried again as a full scan) {
  store_book->catch_up_failures_left = 1;
  settle();
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1}));
  // Retried at the next tick, not after a whole interval.
  wait(1s);
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1, -1}));
  wait(60s);
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1, -1, 100}));
}

CAF_TEST(a restarted tracker gets every asset again through a full scan) {
  started();
  auto successor_book = std::make_shared<tracker_log>();
  auto successor = start(fake_tracker, successor_book);
  store_book->catch_up_answer = {
    {31, "OLD", enqueue_outcome::has_prices, false, hold_reason::none, ""}};
  self->send(hdl, successor);
  expect((tracker_actor), from(self).to(hdl));
  expect((atom::catch_up, scan_mark), from(hdl).to(store));
  CAF_CHECK_EQUAL(store_book->scan_marks, marks({-1, -1}));
  expect((catch_up_report), from(store).to(hdl));
  expect((atom::track, asset_id), from(hdl).to(successor).with(_, 31));
  CAF_CHECK(tracker_book->tracked.empty());
}

CAF_TEST(a restarted job queue is woken from then on) {
  started();
  auto successor_book = std::make_shared<queue_script>();
  successor_book->allowed = {"wake"};
  auto successor = start(fake_job_queue, successor_book);
  self->send(hdl, successor);
  store_book->outcomes[12] = enqueue_outcome::queued;
  see(12);
  settle();
  CAF_CHECK_EQUAL(queue_book->wakes, 0);
  CAF_CHECK_EQUAL(successor_book->wakes, 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
