// The atoms that name backfilld's messages (at most 10 characters each in
// CAF 0.17, where CAF_ADD_ATOM only defines the constant). Use them as
// `atom::pull_v`.

#pragma once

#include <caf/type_id.hpp>

// -- the job queue ------------------------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, enqueue, "enqueue")
CAF_ADD_ATOM(backfilld, backfilld::atom, claim, "claim")
CAF_ADD_ATOM(backfilld, backfilld::atom, pull, "pull")
CAF_ADD_ATOM(backfilld, backfilld::atom, done, "done")
CAF_ADD_ATOM(backfilld, backfilld::atom, failed, "failed")
CAF_ADD_ATOM(backfilld, backfilld::atom, heartbeat, "heartbeat")
CAF_ADD_ATOM(backfilld, backfilld::atom, release, "release")
CAF_ADD_ATOM(backfilld, backfilld::atom, catch_up, "catch_up")
CAF_ADD_ATOM(backfilld, backfilld::atom, wake, "wake")
CAF_ADD_ATOM(backfilld, backfilld::atom, refresh, "refresh")
CAF_ADD_ATOM(backfilld, backfilld::atom, zones, "zones")

// -- fetching -----------------------------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, acquire, "acquire")
CAF_ADD_ATOM(backfilld, backfilld::atom, grant, "grant")
CAF_ADD_ATOM(backfilld, backfilld::atom, throttle, "throttle")
CAF_ADD_ATOM(backfilld, backfilld::atom, get, "get")

// -- storing ------------------------------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, write, "write")
CAF_ADD_ATOM(backfilld, backfilld::atom, track, "track")

// -- listening ----------------------------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, listening, "listening")
CAF_ADD_ATOM(backfilld, backfilld::atom, lost, "lost")

// -- timers, watchdog and life cycle ------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, poll, "poll")
CAF_ADD_ATOM(backfilld, backfilld::atom, tick, "tick")
CAF_ADD_ATOM(backfilld, backfilld::atom, flush, "flush")
CAF_ADD_ATOM(backfilld, backfilld::atom, arm, "arm")
CAF_ADD_ATOM(backfilld, backfilld::atom, disarm, "disarm")
CAF_ADD_ATOM(backfilld, backfilld::atom, drain, "drain")
CAF_ADD_ATOM(backfilld, backfilld::atom, restart, "restart")
CAF_ADD_ATOM(backfilld, backfilld::atom, shutdown, "shutdown")

// -- fetcher nodes ------------------------------------------------------------
CAF_ADD_ATOM(backfilld, backfilld::atom, join, "join")
CAF_ADD_ATOM(backfilld, backfilld::atom, cap, "cap")
CAF_ADD_ATOM(backfilld, backfilld::atom, report, "report")
