// backfilld's error category for CAF ("backfill"), and how errors are shown.

#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "messages/ec.hpp"

CAF_ERROR_CODE_ENUM(backfilld::ec, "backfill")

namespace backfilld {

/// Makes an error of our category; `detail` says what happened, for humans.
caf::error make_error(ec code, std::string detail);

/// Lifts a fault from pure code to the actor layer.
caf::error to_error(fault f);

/// Returns whether `err` is `code` of our category.
bool is(const caf::error& err, ec code);

/// Renders any error for a log line: "symbol_not_found: No data found, …".
std::string render(const caf::error& err);

/// The kind of an error without its detail, e.g. "database_unavailable":
/// what tells one cause of a failure from another.
std::string cause_of(const caf::error& err);

/// Registers the message types and the error category with a configuration.
void register_messages(caf::actor_system_config& cfg);

} // namespace backfilld
