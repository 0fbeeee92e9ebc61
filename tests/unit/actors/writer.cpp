#define CAF_SUITE writer
#include "actor_fixture.hpp"

#include "actors/writer.hpp"

#include <algorithm>

#include "telemetry/counters.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

struct log_book {
  std::vector<std::pair<asset_id, size_t>> writes;
  /// The jobs the store was asked to store, in order.
  std::vector<backfill_job> jobs;
  /// What the store answers an extension: non-empty for "disagrees".
  std::string disagreement;
  std::vector<asset_id> tracked_fresh;
  std::vector<asset_id> tracked;
  bool fail = false;
  /// Rows the store reports as changed.
  int32_t changed = 2;
  /// Days held back in what the store was given, by write.
  std::vector<std::vector<day_number>> held;
  /// Held days already on record (`price_outliers`).
  std::vector<day_number> recorded;
};

writer_store_actor::behavior_type fake_store(writer_store_actor::pointer,
                                             std::shared_ptr<log_book> log) {
  return {
    [=](atom::write, const backfill_job& job,
        const price_series& series) -> caf::result<write_summary> {
      if (log->fail)
        return db_down();
      log->writes.emplace_back(job.asset, series.bars.size());
      log->jobs.push_back(job);
      if (job.kind == job_kind::extend && !job.rewrites_history() &&
          !log->disagreement.empty())
        return write_summary{0, 0, log->disagreement};
      write_summary summary{static_cast<int32_t>(series.bars.size()),
                            log->changed, {}};
      log->held.emplace_back();
      for (const auto& h : series.held) {
        log->held.back().push_back(h.day);
        if (std::find(log->recorded.begin(), log->recorded.end(), h.day) ==
            log->recorded.end()) {
          log->recorded.push_back(h.day);
          summary.new_outliers.push_back(h.day);
        }
      }
      return summary;
    },
  };
}

tracker_actor::behavior_type fake_tracker(tracker_actor::pointer,
                                          std::shared_ptr<log_book> log) {
  return {
    [=](atom::track, asset_id asset) { log->tracked.push_back(asset); },
    [=](atom::track, asset_id asset, atom::write) {
      log->tracked_fresh.push_back(asset);
    },
    [=](atom::track, const std::vector<asset_id>&) {},
    [=](atom::flush) { return int32_t{0}; },
    [=](atom::tick) {},
  };
}

struct fixture : actor_fixture {
  std::shared_ptr<log_book> log = std::make_shared<log_book>();
  writer_store_actor store = start(fake_store, log);
  tracker_actor tracker = start(fake_tracker, log);
  writer_actor hdl = start(writer, store, tracker, writer_settings{5s});

  backfill_job job() {
    backfill_job j;
    j.id = 1;
    j.asset = 12;
    j.symbol = "AMD";
    j.currency = "USD";
    return j;
  }

  price_series series(size_t n) {
    price_series s;
    s.currency = "USD";
    for (size_t i = 0; i < n; ++i)
      s.bars.push_back(price_bar{static_cast<day_number>(19'000 + i), 1, 2, 0.5,
                                 1.5, 1.4, 100});
    return s;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(writer_tests, fixture)

CAF_TEST(a stored series is reported and tracked as fresh) {
  auto got = ask<write_summary>(hdl, atom::write_v, job(), series(251));
  settle();
  CAF_REQUIRE(got->value);
  CAF_CHECK_EQUAL(got->value->bars, 251);
  CAF_CHECK_EQUAL(got->value->changed, 2);
  CAF_REQUIRE_EQUAL(log->writes.size(), 1u);
  CAF_CHECK_EQUAL(log->writes[0].first, 12);
  CAF_CHECK_EQUAL(log->tracked_fresh, std::vector<asset_id>{12});
}

CAF_TEST(a refresh that changed nothing leaves last_price_update alone) {
  auto refresh = job();
  refresh.kind = job_kind::refresh;
  log->changed = 0;
  ask<write_summary>(hdl, atom::write_v, refresh, series(5));
  settle();
  CAF_CHECK(log->tracked_fresh.empty());
  CAF_CHECK_EQUAL(log->tracked, std::vector<asset_id>{12});
  log->changed = 1;
  ask<write_summary>(hdl, atom::write_v, refresh, series(5));
  settle();
  CAF_CHECK_EQUAL(log->tracked_fresh, std::vector<asset_id>{12});
}

CAF_TEST(a failed write is an error for the fetcher and tracks nothing) {
  log->fail = true;
  auto got = ask<write_summary>(hdl, atom::write_v, job(), series(3));
  settle();
  CAF_CHECK(!got->value);
  CAF_CHECK(is(got->error, ec::database_unavailable));
  CAF_CHECK(log->tracked_fresh.empty());
}

CAF_TEST(a restarted tracker is used from then on) {
  auto other_log = std::make_shared<log_book>();
  auto other = start(fake_tracker, other_log);
  self->send(hdl, other);
  ask<write_summary>(hdl, atom::write_v, job(), series(1));
  settle();
  CAF_CHECK(log->tracked_fresh.empty());
  CAF_CHECK_EQUAL(other_log->tracked_fresh, std::vector<asset_id>{12});
}

CAF_TEST(an extension on another basis is reported and tracks nothing) {
  log->disagreement = "close of 2022-01-08: stored 200.5, served 100.25";
  auto extension = job();
  extension.kind = job_kind::extend;
  extension.first_price = 19'002;
  auto got = ask<write_summary>(hdl, atom::write_v, extension, series(5));
  settle();
  CAF_REQUIRE(got->value);
  CAF_CHECK(got->value->basis_changed());
  CAF_CHECK_EQUAL(got->value->disagreement, log->disagreement);
  // The store saw the stored days too: it compares them before writing.
  CAF_REQUIRE_EQUAL(log->writes.size(), 1u);
  CAF_CHECK_EQUAL(log->writes[0].second, 5u);
  CAF_CHECK(log->tracked_fresh.empty());
}

CAF_TEST(a rewrite is stored whole and tracked) {
  log->disagreement = "close of 2022-01-08: stored 200.5, served 100.25";
  auto rewrite = job();
  rewrite.kind = job_kind::extend;
  rewrite.first_price = 19'002;
  rewrite.rewrite_reason = log->disagreement;
  auto got = ask<write_summary>(hdl, atom::write_v, rewrite, series(5));
  settle();
  CAF_REQUIRE(got->value);
  CAF_CHECK(!got->value->basis_changed());
  CAF_CHECK_EQUAL(got->value->bars, 5);
  CAF_REQUIRE_EQUAL(log->jobs.size(), 1u);
  CAF_CHECK(log->jobs[0].rewrites_history());
  CAF_CHECK_EQUAL(log->writes[0].second, 5u);
  CAF_CHECK_EQUAL(log->tracked_fresh, std::vector<asset_id>{12});
}

CAF_TEST(a bad print is held back and counted once) {
  auto spiky = series(5);
  spiky.currency = "GBp";
  for (auto& bar : spiky.bars)
    bar.close = 5436;
  spiky.bars[2].close = 69.98;
  auto before = metrics().outliers_held.load();
  auto got = ask<write_summary>(hdl, atom::write_v, job(), spiky);
  settle();
  CAF_REQUIRE(got->value);
  // The store gets the other bars, and the held one to record.
  CAF_REQUIRE_EQUAL(log->writes.size(), 1u);
  CAF_CHECK_EQUAL(log->writes[0].second, 4u);
  CAF_CHECK_EQUAL(log->held[0], std::vector<day_number>{19'002});
  CAF_CHECK_EQUAL(metrics().outliers_held.load(), before + 1);
  CAF_CHECK_EQUAL(log->tracked_fresh, std::vector<asset_id>{12});
  // Served again (the next refresh): held again, but counted only once.
  ask<write_summary>(hdl, atom::write_v, job(), spiky);
  settle();
  CAF_CHECK_EQUAL(log->held[1], std::vector<day_number>{19'002});
  CAF_CHECK_EQUAL(metrics().outliers_held.load(), before + 1);
}

CAF_TEST(with the check off every bar is stored) {
  writer_settings off{5s};
  off.outliers.enabled = false;
  auto unchecked = start(writer, store, tracker, off);
  auto spiky = series(5);
  spiky.bars[2].close = 1000;
  ask<write_summary>(unchecked, atom::write_v, job(), spiky);
  settle();
  CAF_REQUIRE_EQUAL(log->writes.size(), 1u);
  CAF_CHECK_EQUAL(log->writes[0].second, 5u);
  CAF_CHECK(log->held[0].empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
