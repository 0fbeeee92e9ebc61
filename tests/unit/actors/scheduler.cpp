#define CAF_SUITE scheduler
#include "fakes.hpp"

#include <date/date.h>

#include "actors/scheduler.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// One request of a run, as the fake store saw it.
struct run_request {
  std::string zone;
  asset_id after = 0;
  caf::timespan fresher_than{0};
};

/// A scripted schedule store: knows some zones, queues `per_batch` jobs a
/// batch for `batches` batches a run, and records every request.
struct schedule_log {
  std::set<std::string> zones;
  std::vector<run_request> requests;
  int zone_reads = 0;
  int batches = 1;
  int32_t per_batch = 3;
  int failures_left = 0;
  /// Batches answered in the current run.
  int answered = 0;
  /// Zones requests left unanswered (a database that hangs).
  bool hang_zones = false;
  std::vector<caf::typed_response_promise<std::set<std::string>>> hung;
};

schedule_store_actor::behavior_type
fake_schedule_store(schedule_store_actor::pointer self,
                    std::shared_ptr<schedule_log> log) {
  return {
    [=](atom::zones) -> caf::result<std::set<std::string>> {
      ++log->zone_reads;
      if (log->hang_zones) {
        log->hung.push_back(
          self->make_response_promise<std::set<std::string>>());
        return log->hung.back();
      }
      return log->zones;
    },
    [=](atom::refresh, const std::string& zone, asset_id after,
        caf::timespan fresher_than) -> caf::result<refresh_batch> {
      if (log->failures_left > 0) {
        --log->failures_left;
        return db_down();
      }
      log->requests.push_back(run_request{zone, after, fresher_than});
      refresh_batch batch;
      batch.queued = log->per_batch;
      batch.last = after + 100;
      batch.more = ++log->answered < log->batches;
      if (!batch.more)
        log->answered = 0;
      return batch;
    },
  };
}

/// Unix seconds of a UTC wall time.
int64_t utc(int y, unsigned mo, unsigned d, int h, int mi) {
  date::sys_seconds t = date::sys_days{date::year{y} / mo / d} +
                        std::chrono::hours{h} + std::chrono::minutes{mi};
  return t.time_since_epoch().count();
}

struct fixture : actor_fixture {
  std::shared_ptr<schedule_log> store_book = std::make_shared<schedule_log>();
  std::shared_ptr<queue_script> queue_book = std::make_shared<queue_script>();
  schedule_store_actor store = start(fake_schedule_store, store_book);
  job_queue_actor queue;
  scheduler_actor hdl;
  scheduler_settings settings;

  fixture() {
    queue_book->allowed = {"wake"};
    queue = start(fake_job_queue, queue_book);
    settings.interval = 6h;
    settings.after_close = 30min;
    settings.poll_interval = 30s;
    settings.store_timeout = 5s;
    // Friday 2024-03-08, 12:00 UTC: 07:00 in New York (EST).
    settings.start_unix_time = utc(2024, 3, 8, 12, 0);
  }

  void launch() {
    hdl = start(scheduler, store, queue, settings);
    settle();
  }

  std::vector<std::string> zones_asked() const {
    std::vector<std::string> result;
    for (const auto& r : store_book->requests)
      result.push_back(r.zone.empty() ? "*" : r.zone);
    return result;
  }
};

using zones = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(scheduler_tests, fixture)

CAF_TEST(at start it refreshes what no interval refreshed and wakes the queue) {
  hdl = start(scheduler, store, queue, settings);
  boot(hdl);
  expect((atom::refresh, std::string, asset_id, caf::timespan),
         from(hdl).to(store).with(_, std::string{}, 0, caf::timespan{6h}));
  expect((refresh_batch), from(store).to(hdl));
  expect((atom::wake), from(hdl).to(queue));
  settle();
  CAF_CHECK_EQUAL(queue_book->wakes, 1);
  CAF_CHECK_EQUAL(store_book->requests.size(), 1u);
}

CAF_TEST(a run goes through the assets batch by batch from its cursor) {
  store_book->batches = 3;
  launch();
  CAF_REQUIRE_EQUAL(store_book->requests.size(), 3u);
  CAF_CHECK_EQUAL(store_book->requests[0].after, 0);
  CAF_CHECK_EQUAL(store_book->requests[1].after, 100);
  CAF_CHECK_EQUAL(store_book->requests[2].after, 200);
  CAF_CHECK_EQUAL(queue_book->wakes, 3);
}

CAF_TEST(every interval refreshes all zones again) {
  launch();
  wait(5h);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*"}));
  wait(1h);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*", "*"}));
  // Assets refreshed within half an interval (after a close) are skipped.
  CAF_CHECK_EQUAL(store_book->requests.back().fresher_than, caf::timespan{3h});
  wait(6h);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*", "*", "*"}));
}

CAF_TEST(each zone is refreshed after its own close) {
  settings.interval = 0s;
  store_book->zones = {"America/New_York", "Europe/London"};
  launch();
  CAF_CHECK_EQUAL(zones_asked(), zones({"*"}));
  // London closes 16:30 GMT: its run is due at 17:00 UTC.
  wait(4h + 59min);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*"}));
  wait(2min);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*", "Europe/London"}));
  CAF_CHECK_EQUAL(store_book->requests.back().fresher_than,
                  caf::timespan{30min});
  // New York closes 16:00 EST: its run is due at 21:30 UTC.
  wait(4h + 20min);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*", "Europe/London"}));
  wait(15min);
  CAF_CHECK_EQUAL(zones_asked(),
                  zones({"*", "Europe/London", "America/New_York"}));
  // Nothing at the weekend; Monday's London run (BST not yet) comes next.
  wait(48h);
  CAF_CHECK_EQUAL(store_book->requests.size(), 3u);
  wait(20h);
  CAF_CHECK_EQUAL(store_book->requests.back().zone, "Europe/London");
}

CAF_TEST(an interval run skips what was refreshed since its zone closed) {
  // Three zones: two exchanges and crypto, which trades around the clock.
  store_book->zones = {"America/New_York", "Europe/London", "UTC"};
  launch();
  // London's after-close run at 17:00 UTC, then the interval at 18:00, zone
  // by zone.
  wait(5h);
  wait(1h);
  CAF_CHECK_EQUAL(
    zones_asked(),
    zones({"*", "Europe/London", "America/New_York", "Europe/London", "UTC"}));
  auto fresher = [&](size_t i) {
    return store_book->requests[i].fresher_than;
  };
  // New York last closed Thursday 21:30 UTC (20h30 before the run): what was
  // refreshed since has Thursday's final bar, and Friday's is not final.
  CAF_CHECK_EQUAL(fresher(2), caf::timespan{20h + 30min});
  // London closed an hour ago; half an interval is the longer.
  CAF_CHECK_EQUAL(fresher(3), caf::timespan{3h});
  CAF_CHECK_EQUAL(fresher(4), caf::timespan{3h});
  // New York's close at 21:30, Saturday's first interval run at 00:00.
  wait(3h + 30min);
  wait(2h + 30min);
  CAF_CHECK_EQUAL(store_book->requests.size(), 9u);
  // Saturday 06:00 UTC: nothing changed since Friday's closes.
  wait(6h);
  CAF_REQUIRE_EQUAL(store_book->requests.size(), 12u);
  CAF_CHECK_EQUAL(store_book->requests[9].zone, "America/New_York");
  CAF_CHECK_EQUAL(fresher(9), caf::timespan{8h + 30min});
  CAF_CHECK_EQUAL(fresher(10), caf::timespan{13h});
  CAF_CHECK_EQUAL(fresher(11), caf::timespan{3h});
}

CAF_TEST(one zones request at a time while the store does not answer) {
  store_book->hang_zones = true;
  settings.poll_interval = 2s;
  settings.store_timeout = 120s;
  launch();
  for (int i = 0; i < 30; ++i)
    wait(2s);
  CAF_CHECK_EQUAL(store_book->zone_reads, 1);
  // Timed out: the next tick asks again.
  wait(62s);
  wait(2s);
  CAF_CHECK_EQUAL(store_book->zone_reads, 2);
}

CAF_TEST(a run the store could not take goes on at the next tick) {
  store_book->failures_left = 2;
  launch();
  CAF_CHECK(store_book->requests.empty());
  wait(30s);
  CAF_CHECK(store_book->requests.empty());
  wait(30s);
  CAF_CHECK_EQUAL(zones_asked(), zones({"*"}));
  CAF_CHECK_EQUAL(queue_book->wakes, 1);
}

CAF_TEST(a run that queued nothing does not wake the queue) {
  store_book->per_batch = 0;
  launch();
  CAF_CHECK_EQUAL(store_book->requests.size(), 1u);
  CAF_CHECK_EQUAL(queue_book->wakes, 0);
}

CAF_TEST(a new job queue gets the next wake) {
  launch();
  auto book2 = std::make_shared<queue_script>();
  book2->allowed = {"wake"};
  auto queue2 = start(fake_job_queue, book2);
  self->send(hdl, queue2);
  settle();
  wait(6h);
  CAF_CHECK_EQUAL(book2->wakes, 1);
  CAF_CHECK_EQUAL(queue_book->wakes, 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
