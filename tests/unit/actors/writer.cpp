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
  /// The assets of each batch the store was given, in order.
  std::vector<std::vector<asset_id>> batches;
  /// Assets whose write the store refuses (a failed outcome in its batch).
  std::vector<asset_id> refused;
  /// While set, the store answers nothing (a call that hangs); the first
  /// write after it is cleared answers the hung ones first, in order.
  bool stall = false;
  std::vector<caf::typed_response_promise<std::vector<stored_outcome>>> stuck;
  std::vector<size_t> stuck_sizes;
};

/// What the fake store does with one job of a batch.
write_summary fake_write(const std::shared_ptr<log_book>& log,
                         const backfill_job& job, const price_series& series) {
  log->writes.emplace_back(job.asset, series.bars.size());
  log->jobs.push_back(job);
  if (job.kind == job_kind::extend && !job.rewrites_history() &&
      !log->disagreement.empty())
    return write_summary{0, 0, log->disagreement};
  write_summary summary{
    static_cast<int32_t>(series.bars.size()), log->changed, {}};
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
}

writer_store_actor::behavior_type fake_store(writer_store_actor::pointer self,
                                             std::shared_ptr<log_book> log) {
  return {
    [=](atom::write, const std::vector<series_write>& writes)
      -> caf::result<std::vector<stored_outcome>> {
      if (log->fail)
        return db_down();
      if (log->stall) {
        log->stuck.push_back(
          self->make_response_promise<std::vector<stored_outcome>>());
        log->stuck_sizes.push_back(writes.size());
        return log->stuck.back();
      }
      for (size_t i = 0; i < log->stuck.size(); ++i)
        log->stuck[i].deliver(std::vector<stored_outcome>(log->stuck_sizes[i]));
      log->stuck.clear();
      log->batches.emplace_back();
      std::vector<stored_outcome> out;
      for (const auto& w : writes) {
        log->batches.back().push_back(w.job.asset);
        stored_outcome x;
        if (std::find(log->refused.begin(), log->refused.end(), w.job.asset) !=
            log->refused.end()) {
          x.error = "violates foreign key constraint";
          x.code = ec::database_error;
        } else {
          x.summary = fake_write(log, w.job, w.series);
        }
        out.push_back(std::move(x));
      }
      return out;
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
  writer_actor hdl = start(writer, one(store), tracker, writer_settings{5s});

  static std::vector<writer_store_actor> one(writer_store_actor x) {
    return {std::move(x)};
  }

  backfill_job job() {
    backfill_job j;
    j.id = 1;
    j.asset = 12;
    j.symbol = "AMD";
    j.currency = "USD";
    return j;
  }

  backfill_job job_for(asset_id asset) {
    auto j = job();
    j.id = asset;
    j.asset = asset;
    j.symbol = "S" + std::to_string(asset);
    return j;
  }

  /// A fetcher that asks the writer to store a series; its handle lets the
  /// test follow the answer with `expect` / `disallow`.
  struct client {
    caf::actor hdl;
    std::shared_ptr<answer<write_summary>> got;
  };

  client write_from(const writer_actor& to, backfill_job j, price_series s) {
    auto got = std::make_shared<answer<write_summary>>();
    auto c = start(
      [=](caf::event_based_actor* self, writer_actor w) {
        self->request(w, caf::infinite, atom::write_v, j, s)
          .then([=](write_summary& x) { got->value = std::move(x); },
                [=](caf::error& err) { got->error = std::move(err); });
        return idle_behavior();
      },
      to);
    // Its request is in the writer's mailbox when this returns.
    boot(c);
    return {caf::actor_cast<caf::actor>(c), got};
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

CAF_TEST(writes that arrive while the store is busy go as one batch) {
  settle();
  auto a = write_from(hdl, job_for(1), series(3));
  auto b = write_from(hdl, job_for(2), series(4));
  auto c = write_from(hdl, job_for(3), series(5));
  // The first goes alone, at once: nobody waits for a batch to fill.
  expect((atom::write, backfill_job, price_series), from(a.hdl).to(hdl));
  // B and C arrive while A is with the store: they wait.
  expect((atom::write, backfill_job, price_series), from(b.hdl).to(hdl));
  expect((atom::write, backfill_job, price_series), from(c.hdl).to(hdl));
  // No answer before the store answered.
  disallow((write_summary), from(hdl).to(a.hdl));
  expect((atom::write, std::vector<series_write>), from(hdl).to(store));
  CAF_REQUIRE_EQUAL(log->batches.size(), 1u);
  CAF_CHECK_EQUAL(log->batches[0], std::vector<asset_id>{1});
  disallow((write_summary), from(hdl).to(a.hdl));
  expect((std::vector<stored_outcome>), from(store).to(hdl));
  // A is answered; B and C go to the store together.
  expect((write_summary), from(hdl).to(a.hdl));
  disallow((write_summary), from(hdl).to(b.hdl));
  expect((atom::write, std::vector<series_write>), from(hdl).to(store));
  CAF_REQUIRE_EQUAL(log->batches.size(), 2u);
  CAF_CHECK_EQUAL(log->batches[1], (std::vector<asset_id>{2, 3}));
  disallow((write_summary), from(hdl).to(b.hdl));
  disallow((write_summary), from(hdl).to(c.hdl));
  expect((std::vector<stored_outcome>), from(store).to(hdl));
  expect((write_summary), from(hdl).to(b.hdl));
  expect((write_summary), from(hdl).to(c.hdl));
  settle();
  CAF_REQUIRE(b.got->value);
  CAF_CHECK_EQUAL(b.got->value->bars, 4);
  CAF_REQUIRE(c.got->value);
  CAF_CHECK_EQUAL(c.got->value->bars, 5);
  // The tracker hears of every asset once its rows committed.
  CAF_CHECK_EQUAL(log->tracked_fresh, (std::vector<asset_id>{1, 2, 3}));
}

CAF_TEST(with two connections a second batch goes while the first is stored) {
  auto second = start(fake_store, log);
  auto both = start(writer, std::vector<writer_store_actor>{store, second},
                    tracker, writer_settings{5s});
  settle();
  auto a = write_from(both, job_for(1), series(3));
  auto b = write_from(both, job_for(2), series(3));
  auto c = write_from(both, job_for(3), series(3));
  auto d = write_from(both, job_for(4), series(3));
  expect((atom::write, backfill_job, price_series), from(a.hdl).to(both));
  expect((atom::write, backfill_job, price_series), from(b.hdl).to(both));
  expect((atom::write, backfill_job, price_series), from(c.hdl).to(both));
  expect((atom::write, backfill_job, price_series), from(d.hdl).to(both));
  // A went to the first store at once, B to the second while A is stored;
  // C and D wait for whichever store answers first.
  expect((atom::write, std::vector<series_write>), from(both).to(store));
  expect((atom::write, std::vector<series_write>), from(both).to(second));
  disallow((atom::write, std::vector<series_write>), from(both).to(store));
  expect((std::vector<stored_outcome>), from(store).to(both));
  expect((write_summary), from(both).to(a.hdl));
  expect((atom::write, std::vector<series_write>), from(both).to(store));
  settle();
  CAF_REQUIRE_EQUAL(log->batches.size(), 3u);
  CAF_CHECK_EQUAL(log->batches[0], std::vector<asset_id>{1});
  CAF_CHECK_EQUAL(log->batches[1], std::vector<asset_id>{2});
  CAF_CHECK_EQUAL(log->batches[2], (std::vector<asset_id>{3, 4}));
  for (auto* x : {&a, &b, &c, &d})
    CAF_CHECK(x->got->value);
  CAF_CHECK_EQUAL(log->tracked_fresh, (std::vector<asset_id>{1, 2, 3, 4}));
}

CAF_TEST(an asset with a batch in flight waits for it even with a store idle) {
  auto second = start(fake_store, log);
  auto both = start(writer, std::vector<writer_store_actor>{store, second},
                    tracker, writer_settings{5s});
  settle();
  auto first = job_for(7);
  auto again = job_for(7);
  again.id = 70;
  auto a = write_from(both, first, series(3));
  auto b = write_from(both, again, series(4));
  auto c = write_from(both, job_for(8), series(3));
  expect((atom::write, backfill_job, price_series), from(a.hdl).to(both));
  expect((atom::write, std::vector<series_write>), from(both).to(store));
  expect((atom::write, backfill_job, price_series), from(b.hdl).to(both));
  // The second store is idle, but asset 7 is with the first: B waits.
  disallow((atom::write, std::vector<series_write>), from(both).to(second));
  expect((atom::write, backfill_job, price_series), from(c.hdl).to(both));
  // C, another asset, passes it.
  expect((atom::write, std::vector<series_write>), from(both).to(second));
  CAF_REQUIRE_EQUAL(log->batches.size(), 2u);
  expect((std::vector<stored_outcome>), from(store).to(both));
  expect((write_summary), from(both).to(a.hdl));
  // Only now does B go, after A's rows committed.
  expect((atom::write, std::vector<series_write>), from(both).to(store));
  settle();
  CAF_REQUIRE_EQUAL(log->jobs.size(), 3u);
  CAF_CHECK_EQUAL(log->jobs[0].id, 7);
  CAF_CHECK_EQUAL(log->jobs[1].id, 8);
  CAF_CHECK_EQUAL(log->jobs[2].id, 70);
  for (auto* x : {&a, &b, &c})
    CAF_CHECK(x->got->value);
}

CAF_TEST(a store that timed out keeps its assets until it answers again) {
  // The connection may still be storing the batch the writer gave up on.
  auto slow_log = std::make_shared<log_book>();
  slow_log->stall = true;
  auto slow = start(fake_store, slow_log);
  auto second = start(fake_store, log);
  auto both = start(writer, std::vector<writer_store_actor>{slow, second},
                    tracker, writer_settings{5s});
  settle();
  auto a = write_from(both, job_for(7), series(3));
  settle();
  CAF_REQUIRE_EQUAL(slow_log->stuck.size(), 1u);
  wait(5s);
  CAF_CHECK_EQUAL(a.got->error, caf::sec::request_timeout);
  // Asset 7 again, and asset 8: only 8 may go to the other connection.
  auto again = job_for(7);
  again.id = 70;
  auto b = write_from(both, again, series(4));
  auto c = write_from(both, job_for(8), series(3));
  settle();
  CAF_CHECK_EQUAL(log->batches, std::vector<std::vector<asset_id>>{{8}});
  CAF_CHECK(c.got->value);
  CAF_CHECK(!b.got->value && !b.got->error);
  // The slow store finishes the old batch (an answer nobody waits for any
  // more) and then the round trip sent after it: asset 7 is free again.
  CAF_REQUIRE_EQUAL(slow_log->stuck.size(), 2u);
  slow_log->stall = false;
  self->send(slow, atom::write_v, std::vector<series_write>{});
  settle();
  CAF_REQUIRE(b.got->value);
  CAF_CHECK_EQUAL(b.got->value->bars, 4);
  CAF_REQUIRE_EQUAL(slow_log->jobs.size(), 1u);
  CAF_CHECK_EQUAL(slow_log->jobs.at(0).id, 70);
}

CAF_TEST(an asset whose batch failed can be written again) {
  log->fail = true;
  auto a = write_from(hdl, job_for(5), series(3));
  settle();
  CAF_CHECK(is(a.got->error, ec::database_unavailable));
  log->fail = false;
  auto b = write_from(hdl, job_for(5), series(3));
  settle();
  CAF_CHECK(b.got->value);
}

CAF_TEST(next_batch leaves the series of assets in flight in their place) {
  std::deque<pending_write> waiting;
  for (asset_id asset : {1, 2, 1, 3, 2, 4})
    waiting.push_back(
      pending_write{series_write{job_for(asset), series(1)}, {}, {}});
  auto batch = next_batch(waiting, 10, 1000, {{1, 1}});
  std::vector<asset_id> taken;
  for (const auto& x : batch)
    taken.push_back(x.write.job.asset);
  CAF_CHECK_EQUAL(taken, (std::vector<asset_id>{2, 3, 2, 4}));
  CAF_REQUIRE_EQUAL(waiting.size(), 2u);
  CAF_CHECK_EQUAL(waiting[0].write.job.asset, 1);
  CAF_CHECK_EQUAL(waiting[1].write.job.asset, 1);
  // Nothing may go: an empty batch, and nothing taken.
  CAF_CHECK(next_batch(waiting, 10, 1000, {{1, 2}}).empty());
  CAF_CHECK_EQUAL(waiting.size(), 2u);
}

CAF_TEST(a batch holds at most writer.batch-max series) {
  writer_settings two{5s};
  two.batch_max = 2;
  auto small = start(writer, one(store), tracker, two);
  settle();
  std::vector<client> clients;
  for (asset_id i = 1; i <= 4; ++i)
    clients.push_back(write_from(small, job_for(i), series(2)));
  for (auto& x : clients)
    expect((atom::write, backfill_job, price_series), from(x.hdl).to(small));
  settle();
  CAF_CHECK_EQUAL(log->batches.size(), 3u);
  CAF_CHECK_EQUAL(log->batches[1], (std::vector<asset_id>{2, 3}));
  CAF_CHECK_EQUAL(log->batches[2], std::vector<asset_id>{4});
  for (auto& x : clients)
    CAF_CHECK(x.got->value);
}

CAF_TEST(a batch is bounded by its rows but always takes one series) {
  writer_settings few{5s};
  few.batch_max_rows = 6;
  auto small = start(writer, one(store), tracker, few);
  settle();
  std::vector<client> clients;
  // 2 goes alone (the store is idle); 10 bars exceed the bound alone and
  // still go; then 3 + 3 fit together, 1 more does not.
  for (auto [asset, bars] : std::vector<std::pair<asset_id, size_t>>{
         {1, 2}, {2, 10}, {3, 3}, {4, 3}, {5, 1}})
    clients.push_back(write_from(small, job_for(asset), series(bars)));
  for (auto& x : clients)
    expect((atom::write, backfill_job, price_series), from(x.hdl).to(small));
  settle();
  CAF_REQUIRE_EQUAL(log->batches.size(), 4u);
  CAF_CHECK_EQUAL(log->batches[1], std::vector<asset_id>{2});
  CAF_CHECK_EQUAL(log->batches[2], (std::vector<asset_id>{3, 4}));
  CAF_CHECK_EQUAL(log->batches[3], std::vector<asset_id>{5});
}

CAF_TEST(one refused job of a batch fails alone) {
  settle();
  log->refused = {2};
  auto a = write_from(hdl, job_for(1), series(3));
  auto b = write_from(hdl, job_for(2), series(3));
  auto c = write_from(hdl, job_for(3), series(3));
  expect((atom::write, backfill_job, price_series), from(a.hdl).to(hdl));
  expect((atom::write, backfill_job, price_series), from(b.hdl).to(hdl));
  expect((atom::write, backfill_job, price_series), from(c.hdl).to(hdl));
  settle();
  CAF_REQUIRE_EQUAL(log->batches.size(), 2u);
  CAF_CHECK_EQUAL(log->batches[1], (std::vector<asset_id>{2, 3}));
  CAF_CHECK(a.got->value);
  CAF_CHECK(!b.got->value);
  CAF_CHECK(is(b.got->error, ec::database_error));
  CAF_CHECK(c.got->value);
  // The refused asset is not stamped as freshly written.
  CAF_CHECK_EQUAL(log->tracked_fresh, (std::vector<asset_id>{1, 3}));
}

CAF_TEST(a batch the store cannot take fails every job in it) {
  settle();
  auto a = write_from(hdl, job_for(1), series(3));
  auto b = write_from(hdl, job_for(2), series(3));
  auto c = write_from(hdl, job_for(3), series(3));
  expect((atom::write, backfill_job, price_series), from(a.hdl).to(hdl));
  expect((atom::write, backfill_job, price_series), from(b.hdl).to(hdl));
  expect((atom::write, backfill_job, price_series), from(c.hdl).to(hdl));
  expect((atom::write, std::vector<series_write>), from(hdl).to(store));
  expect((std::vector<stored_outcome>), from(store).to(hdl));
  // The database goes away while B and C are on their way.
  log->fail = true;
  settle();
  CAF_CHECK(a.got->value);
  for (auto* x : {&b, &c}) {
    CAF_CHECK(!x->got->value);
    CAF_CHECK(is(x->got->error, ec::database_unavailable));
  }
  CAF_CHECK_EQUAL(log->tracked_fresh, std::vector<asset_id>{1});
  // The writer is not stuck: the next write goes through.
  log->fail = false;
  auto d = write_from(hdl, job_for(4), series(3));
  settle();
  CAF_CHECK(d.got->value);
}

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
  auto unchecked = start(writer, one(store), tracker, off);
  auto spiky = series(5);
  spiky.bars[2].close = 1000;
  ask<write_summary>(unchecked, atom::write_v, job(), spiky);
  settle();
  CAF_REQUIRE_EQUAL(log->writes.size(), 1u);
  CAF_CHECK_EQUAL(log->writes[0].second, 5u);
  CAF_CHECK(log->held[0].empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
