#include "actors/supervisor.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "actors/listener.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

/// Bound on the queue's drain and the tracker's flush at shutdown: what they
/// cannot write by then is found again from the table (leases, catch-up).
constexpr auto shutdown_step_timeout = std::chrono::seconds{10};

/// The roles, in start order: each only needs those before it (the listener
/// needs the queue, the fetcher the queue, limiter and writer).
const char* const role_names[] = {"tracker", "rate-limiter", "writer",
                                  "dedupe",  "fetcher",      "listener"};

template <class Handle>
void watch(self_pointer self, const Handle& hdl, const std::string& role) {
  self->monitor(hdl);
  self->state.roles[caf::actor_cast<caf::actor_addr>(hdl)] = role;
}

/// Spawns one role and hands the new handle to every peer that uses it.
void spawn_role(self_pointer self, const std::string& role) {
  auto& st = self->state;
  auto& sys = self->system();
  if (role == "tracker") {
    st.tracker = st.make.tracker(sys, st.watchdog);
    watch(self, st.tracker, role);
    if (st.queue)
      self->send(st.queue, st.tracker);
    if (st.writer)
      self->send(st.writer, st.tracker);
  } else if (role == "rate-limiter") {
    st.limiter = st.make.rate_limiter(sys);
    watch(self, st.limiter, role);
    if (st.fetcher)
      self->send(st.fetcher, st.limiter);
  } else if (role == "writer") {
    st.writer = st.make.writer(sys, st.watchdog, st.tracker);
    watch(self, st.writer, role);
    if (st.fetcher)
      self->send(st.fetcher, st.writer);
  } else if (role == "dedupe") {
    st.queue = st.make.dedupe(sys, st.watchdog, st.tracker);
    watch(self, st.queue, role);
    if (st.fetcher)
      self->send(st.fetcher, st.queue);
    if (st.listener)
      self->send(st.listener, st.queue);
  } else if (role == "fetcher") {
    st.fetcher = st.make.fetcher(sys, st.queue, st.limiter, st.writer);
    watch(self, st.fetcher, role);
  } else if (role == "listener") {
    st.listener = st.make.listener(sys, st.watchdog, st.queue);
    watch(self, st.listener, role);
  }
}

/// Ends every role that is still alive.
void stop_all(self_pointer self) {
  for (const auto& [addr, role] : self->state.roles)
    self->send_exit(addr, caf::exit_reason::user_shutdown);
}

void on_down(self_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.roles.find(dm.source);
  if (i == st.roles.end())
    return;
  auto role = i->second;
  st.roles.erase(i);
  if (st.stopping) {
    if (st.roles.empty())
      self->quit();
    return;
  }
  metrics().restarts++;
  auto window =
    st.restarts
      .try_emplace(role, st.settings.max_restarts, st.settings.restart_window)
      .first;
  if (!window->second.record(self->clock().now())) {
    BF_CRITICAL(self,
                "{} died more than {} times within {} ms ({}); giving up so "
                "that the process restarts",
                role, st.settings.max_restarts,
                st.settings.restart_window.count(), render(dm.reason));
    st.stopping = true;
    auto reason = make_error(ec::shutting_down, role + " is crash-looping");
    stop_all(self);
    self->quit(reason);
    return;
  }
  BF_ERROR(self, "{} died ({}); restarting it in {} ms", role,
           render(dm.reason), st.settings.restart_delay.count());
  self->delayed_send(self, st.settings.restart_delay, atom::restart_v, role);
}

/// Shutdown in pipeline order: no new sightings, fetchers finish within the
/// grace period, the queue hands back what is left, the tracker flushes.
void shut_down(self_pointer self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  BF_INFO(self, "Shutting down: finishing work in flight (grace {} ms)",
          st.settings.shutdown_grace.count());
  if (st.listener)
    self->send_exit(st.listener, caf::exit_reason::user_shutdown);
  auto finish = [=] {
    auto& st = self->state;
    self->request(st.tracker, shutdown_step_timeout, atom::flush_v)
      .then([=](int32_t) { stop_all(self); },
            [=](caf::error&) { stop_all(self); });
  };
  auto drain_queue = [=] {
    auto& st = self->state;
    self->request(st.queue, shutdown_step_timeout, atom::drain_v)
      .then([=](int32_t) { finish(); },
            [=](caf::error& err) {
              BF_WARN(self, "The queue did not drain: {}", render(err));
              finish();
            });
  };
  self->request(st.fetcher, st.settings.shutdown_grace, atom::drain_v)
    .then(
      [=](int32_t finished) {
        BF_INFO(self, "Fetcher finished {} jobs while draining", finished);
        drain_queue();
      },
      [=](caf::error& err) {
        BF_WARN(self,
                "Fetcher did not finish within the grace period ({}); "
                "releasing what it holds",
                render(err));
        self->send_exit(self->state.fetcher, caf::exit_reason::user_shutdown);
        drain_queue();
      });
}

} // namespace

role_factory production_roles(const pipeline_settings& settings) {
  // Each maker keeps its own copy of the settings it needs.
  role_factory make;
  make.tracker = [db = settings.db, cfg = settings.tracker](
                   caf::actor_system& sys, db_watchdog_actor watchdog) {
    return spawn_tracker(sys, db, std::move(watchdog), cfg);
  };
  make.rate_limiter = [cfg = settings.limiter](caf::actor_system& sys) {
    return spawn_rate_limiter(sys, cfg);
  };
  make.writer = [db = settings.db, cfg = settings.writer](
                  caf::actor_system& sys, db_watchdog_actor watchdog,
                  tracker_actor tracker) {
    return spawn_writer(sys, db, std::move(watchdog), std::move(tracker), cfg);
  };
  make.dedupe = [db = settings.db, lease = settings.lease,
                 cfg = settings.dedupe](caf::actor_system& sys,
                                        db_watchdog_actor watchdog,
                                        tracker_actor tracker) {
    return spawn_dedupe(sys, db, lease, std::move(watchdog), std::move(tracker),
                        cfg);
  };
  make.fetcher =
    [n = settings.fetch_concurrency, http = settings.http,
     cfg = settings.fetcher](caf::actor_system& sys, dedupe_actor queue,
                             rate_limiter_actor limiter, writer_actor writer) {
      return spawn_fetcher(sys, std::move(queue), std::move(limiter),
                           std::move(writer), n, http, cfg);
    };
  make.listener = [db = settings.db, cfg = settings.listen](
                    caf::actor_system& sys, db_watchdog_actor watchdog,
                    dedupe_actor queue) {
    return spawn_listener(sys, std::move(queue), db, std::move(watchdog), cfg);
  };
  return make;
}

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervision_settings settings, role_factory make) {
  self->state.settings = settings;
  self->state.make = std::move(make);
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  // Linked: it holds no state worth a restart, and the stores rely on it.
  // A link ignores a normal exit, so it is also told when we end.
  auto watchdog = self->spawn<caf::linked>(db_watchdog);
  self->state.watchdog = watchdog;
  self->attach_functor([watchdog] {
    caf::anon_send_exit(watchdog, caf::exit_reason::user_shutdown);
  });
  for (auto role : role_names)
    spawn_role(self, role);
  self->send(self, atom::tick_v);
  return {
    [=](atom::shutdown) { shut_down(self); },
    [=](atom::restart, const std::string& role) {
      if (!self->state.stopping)
        spawn_role(self, role);
    },
    // An idle daemon's unchanged summary is noise at info (issue 12.5).
    [=, last = std::make_shared<std::string>()](atom::tick) {
      self->delayed_send(self, self->state.settings.summary_interval,
                         atom::tick_v);
      auto summary = metrics().summary();
      if (summary == *last)
        BF_DEBUG(self, "Summary: {}", summary);
      else
        BF_INFO(self, "Summary: {}", summary);
      *last = std::move(summary);
    },
  };
}

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  const pipeline_settings& settings) {
  return sys.spawn(supervisor, settings.supervision,
                   production_roles(settings));
}

} // namespace backfilld
