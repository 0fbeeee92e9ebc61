#include "messages/error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "messages/type_ids.hpp"

namespace backfilld {

namespace {

constexpr auto category = caf::atom("backfill");

/// Our errors carry one string of context: the human-readable detail.
std::string detail_of(const caf::message& context) {
  if (context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  return context.empty() ? std::string{} : to_string(context);
}

std::string render_ours(uint8_t code, const caf::message& context) {
  std::string result = to_string(static_cast<ec>(code));
  auto detail = detail_of(context);
  if (!detail.empty()) {
    result += ": ";
    result += detail;
  }
  return result;
}

} // namespace

caf::error make_error(ec code, std::string detail) {
  return caf::make_error(code, std::move(detail));
}

caf::error to_error(fault f) {
  return make_error(f.code, std::move(f.detail));
}

bool is(const caf::error& err, ec code) {
  return err && err.category() == category &&
         err.code() == static_cast<uint8_t>(code);
}

std::string cause_of(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() == category)
    return to_string(static_cast<ec>(err.code()));
  if (err.category() == caf::atom("system"))
    return to_string(static_cast<caf::sec>(err.code()));
  return to_string(err);
}

std::string render(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == category)
    return render_ours(err.code(), err.context());
  if (err.category() == caf::atom("system")) {
    std::string result = to_string(static_cast<caf::sec>(err.code()));
    auto detail = detail_of(err.context());
    if (!detail.empty())
      result += ": " + detail;
    return result;
  }
  return to_string(err);
}

void register_messages(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::backfilld>();
  cfg.add_error_category(
    category, [](uint8_t code, caf::atom_value, const caf::message& context) {
      return render_ours(code, context);
    });
}

} // namespace backfilld
