// The queue tests' shared fixture: a database with a few assets, and
// helpers that insert transactions and claim as one daemon or another.

#pragma once

#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <thread>

#include <unistd.h>

#include "db/catch_up_queries.hpp"
#include "db/enqueue_queries.hpp"
#include "db/job_queries.hpp"
#include "db_fixture.hpp"

namespace backfilld::test {

using namespace std::chrono_literals;

struct queue_fixture : db_fixture {
  queue_settings me{"host:1:a", std::chrono::milliseconds{60'000}};
  queue_settings other{"host:2:b", std::chrono::milliseconds{60'000}};

  queue_fixture() {
    exec(R"sql(
      INSERT INTO assets (id, symbol, asset_type) VALUES
        (12, 'AMD', 'stock'), (13, 'BTC', 'crypto'), (14, 'EUR', 'cash'),
        (15, 'AAPL', 'stock');
      -- AAPL's history reaches back beyond the configured year.
      INSERT INTO asset_prices (asset_id, date, close) VALUES
        (15, current_date - 370, 100), (15, current_date - 29, 101);
    )sql");
  }

  void transaction(asset_id asset, int portfolio, const std::string& when) {
    exec("INSERT INTO transactions (portfolio_id, asset_id, quantity, price,"
         " timestamp) VALUES (" +
         std::to_string(portfolio) + ", " + std::to_string(asset) + ", 1, 1, " +
         when + ")");
  }

  std::vector<enqueue_result> enqueue(const std::vector<asset_id>& assets) {
    return enqueue_jobs(*conn, assets, me);
  }

  enqueue_outcome outcome_of(asset_id asset) {
    auto results = enqueue({asset});
    CAF_REQUIRE_EQUAL(results.size(), 1u);
    return results[0].outcome;
  }

  std::vector<backfill_job> claim(uint32_t n, const queue_settings& who) {
    std::vector<std::string> reclaimed;
    return claim_jobs(*conn, n, who, reclaimed);
  }

  /// Claims the one due job as `who` and records that its attempts ran out
  /// with `reason` (a give-up that catch-up may revive); returns its id.
  job_id claim_and_give_up(const queue_settings& who,
                           const std::string& reason) {
    auto jobs = claim(1, who);
    CAF_REQUIRE_EQUAL(jobs.size(), 1u);
    CAF_CHECK(fail_job(
      *conn, job_verdict{jobs[0].id, verdict_action::give_up, 0, false, reason},
      who));
    return jobs[0].id;
  }

  /// Runs `f` again while it finds the connection broken: libpqxx 6 drops
  /// the broken connection on one call and reconnects on a later one (the
  /// job store's session opens a new connection instead).
  template <class F>
  auto reconnecting(F f) {
    for (int i = 0;; ++i) {
      try {
        return f();
      } catch (const pqxx::broken_connection&) {
        if (i == 3)
          throw;
      }
    }
  }

  std::string state_of(job_id job) {
    return scalar<std::string>("SELECT state FROM backfill_jobs WHERE id = " +
                               std::to_string(job));
  }
};

} // namespace backfilld::test
