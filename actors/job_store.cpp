#include "actors/job_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "db/catch_up_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

job_store_actor::behavior_type
job_store(job_store_actor::stateful_pointer<job_store_state> self,
          db_settings settings, queue_settings lease,
          db_watchdog_actor watchdog) {
  auto& st = self->state;
  st.open(std::move(settings), std::move(watchdog), self->state.name);
  st.lease = std::move(lease);
  // Handlers read the settings from the state, which outlives them.
  const auto& ls = st.lease;
  return {
    [=, &ls](atom::enqueue, const std::vector<asset_id>& assets) {
      return self->state.query<std::vector<enqueue_result>>(
        [&](auto& conn) { return enqueue_jobs(conn, assets, ls); });
    },
    [=, &ls](atom::claim, uint32_t limit) {
      std::vector<std::string> notes;
      auto result = self->state.query<std::vector<backfill_job>>(
        [&](auto& conn) { return claim_jobs(conn, limit, ls, notes); });
      for (const auto& note : notes)
        BF_WARN(self, "{}", note);
      return result;
    },
    [=, &ls](atom::done, job_id job) {
      return self->state.query<bool>(
        [&](auto& conn) { return finish_job(conn, job, ls); });
    },
    [=, &ls](atom::failed, const job_verdict& verdict) {
      return self->state.query<bool>(
        [&](auto& conn) { return fail_job(conn, verdict, ls); });
    },
    [=, &ls](atom::heartbeat, const std::vector<job_id>& held) {
      lease_check check;
      auto result = self->state.query<int32_t>([&](auto& conn) {
        check = extend_leases(conn, held, ls);
        return check.extended;
      });
      if (check.orphans_released > 0)
        BF_WARN(self,
                "Released {} jobs of ours that nobody held (a claim's answer "
                "was lost)",
                check.orphans_released);
      return result;
    },
    [=, &ls](atom::release, const job_release& release) {
      return self->state.query<int32_t>(
        [&](auto& conn) { return release_jobs(conn, release, ls); });
    },
    [=, &ls](atom::catch_up, const scan_mark& mark) {
      return self->state.query<catch_up_report>([&](auto& conn) {
        auto full = mark.transaction < 0;
        auto found = full ? all_assets_with_transactions(conn)
                          : assets_changed_since(conn, mark, ls.revive_after);
        return catch_up_report{enqueue_jobs(conn, found.assets, ls), found.mark,
                               full};
      });
    },
  };
}

job_store_actor spawn_job_store(caf::actor_system& sys, db_settings settings,
                                queue_settings lease,
                                db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(job_store, std::move(settings),
                                  std::move(lease), std::move(watchdog));
}

} // namespace backfilld
