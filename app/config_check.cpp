#include "app/config_check.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include <caf/actor_system_config.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>
#include <spdlog/common.h>

#include "app/config.hpp"
#include "db/connection.hpp"
#include "messages/error.hpp"

extern char** environ;

namespace backfilld::config_check {

caf::error invalid(std::string what) {
  return make_error(ec::invalid_config, std::move(what));
}

namespace {

constexpr std::string_view env_prefix = "BACKFILL_";
constexpr const char* config_file_variable = "BACKFILL_CONFIG";
constexpr std::string_view file_suffix = "-file";

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    auto diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      auto above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "; did you mean X?" when a candidate is close enough to be what a typo
/// meant; a far one would send the operator the wrong way.
std::string suggestion(std::string_view name,
                       const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  auto best_distance = std::string::npos;
  for (const auto& candidate : candidates)
    if (auto d = edit_distance(name, candidate); d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  if (best == nullptr || best_distance > std::max<size_t>(3, name.size() / 3))
    return " (backfilld --long-help lists every key)";
  return "; did you mean " + *best + "?";
}

std::vector<std::string> names_of(const caf::config_option_set& options) {
  std::vector<std::string> result;
  for (const auto& option : options)
    result.push_back(qualified_name(option));
  return result;
}

std::string expected(const caf::config_option& option) {
  auto type = str(option.type_name());
  if (type == "timespan")
    return "a duration with a unit (ms, s, min, h)";
  if (type == "real64")
    return "a number with a decimal point (e.g. 3.0)";
  if (type.find("int") != std::string::npos)
    return "an integer";
  if (type == "string")
    return "a string (quoted in the INI file)";
  if (type == "boolean")
    return "true or false";
  return "a " + type;
}

/// Settings whose values never appear in any output, whatever they hold.
// URLs may carry `user:password@` (a database, or a provider behind an
// authenticating proxy): shown with the password masked, never dropped.
bool is_url_setting(std::string_view key) {
  constexpr std::string_view suffix = "base-url";
  return key == "db.url" || (key.size() >= suffix.size() &&
                             key.substr(key.size() - suffix.size()) == suffix);
}

bool is_secret(std::string_view key) {
  for (auto word : {"password", "passphrase", "secret", "token", "api-key"})
    if (key.find(word) != std::string_view::npos)
      return key.size() < file_suffix.size() ||
             key.substr(key.size() - file_suffix.size()) != file_suffix;
  return false;
}

caf::error wrong_type(const caf::config_option& option, std::string_view value,
                      const std::string& source) {
  auto key = qualified_name(option);
  auto what = key + " must be " + expected(option);
  if (!is_secret(key) && !is_url_setting(key))
    what += ", not \"" + std::string{value} + "\"";
  return invalid(what + " (" + source + ")");
}

std::string where(const std::string& source) {
  if (source == "command line")
    return "on the command line";
  if (source.rfind("file ", 0) == 0)
    return "in " + source.substr(5);
  return "in the " + source;
}

/// CAF's INI reader says where it stopped in a dictionary of line and
/// column.
caf::error syntax_error(const std::string& path, const caf::error& err) {
  std::string what = "config file " + path + " is not valid INI";
  if (err.category() == caf::atom("parser")) {
    what += ": " + to_string(static_cast<caf::pec>(err.code()));
    if (err.context().match_elements<caf::settings>()) {
      const auto& at = err.context().get_as<caf::settings>(0);
      what += " at line " + std::to_string(caf::get_or(at, "line", 0)) +
              ", column " + std::to_string(caf::get_or(at, "column", 0));
    }
  }
  return invalid(what + " (strings and URLs are quoted: key=\"value\")");
}

} // namespace

std::string qualified_name(const caf::config_option& option) {
  auto category = str(option.category());
  auto name = str(option.long_name());
  return category == "global" ? name : category + "." + name;
}

std::string env_variable(const caf::config_option& option) {
  std::string result{env_prefix};
  for (auto c : qualified_name(option))
    result +=
      c == '.' || c == '-'
        ? '_'
        : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

caf::error check_arguments(const caf::config_option_set& options,
                           const std::vector<std::string>& args,
                           const std::string& source, source_map& sources) {
  for (const auto& arg : args) {
    // CAF would stop at the first argument that is not an option and keep
    // the rest as "remainder", unread.
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      return invalid("unexpected argument " + arg + " " + where(source) +
                     " (options are --group.key=value)");
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    auto option = options.cli_long_name_lookup(name);
    if (option == nullptr)
      return invalid("unknown key " + name + " " + where(source) +
                     suggestion(name, names_of(options)));
    auto key = qualified_name(*option);
    if (option->is_flag()) {
      // "--x" sets a flag; "--x=false" (from the environment, or to turn
      // off one that is on by default) is applied by `config::load`.
      auto value =
        eq == std::string::npos ? std::string{"true"} : arg.substr(eq + 1);
      if (value != "true" && value != "false")
        return wrong_type(*option, value, source);
    } else {
      if (eq == std::string::npos)
        return invalid(key + " needs a value: --" + key + "=VALUE (" + source +
                       ")");
      auto value = caf::string_view{arg}.substr(eq + 1);
      if (!option->parse(value))
        return wrong_type(*option, str(value), source);
    }
    sources[key] = source;
  }
  return caf::none;
}

caf::error check_file(const caf::config_option_set& options,
                      const std::string& path, source_map& sources) {
  std::ifstream in{path};
  // Without options, CAF's INI reader keeps every key with the value as
  // written: what we check names and types against.
  auto parsed = caf::actor_system_config::parse_config(in);
  if (!parsed)
    return syntax_error(path, parsed.error());
  auto source = "file " + path;
  auto check = [&](caf::string_view category, const std::string& key,
                   const caf::config_value& value) -> caf::error {
    auto option = options.qualified_name_lookup(category, key);
    auto name = category == "global" ? key : str(category) + "." + key;
    if (option == nullptr)
      return invalid("unknown key " + name + " in " + path +
                     suggestion(name, names_of(options)));
    if (option->check(value))
      return wrong_type(*option, show(value), source);
    sources.emplace(name, source);
    return caf::none;
  };
  for (const auto& [top, value] : *parsed) {
    auto group = caf::get_if<caf::settings>(&value);
    // CAF flattens [global] into the top level.
    if (group == nullptr) {
      if (auto err = check("global", top, value))
        return err;
      continue;
    }
    for (const auto& [key, x] : *group)
      if (auto err = check(top, key, x))
        return err;
  }
  return caf::none;
}

caf::error check_environment(const std::vector<std::string>& known) {
  std::vector<std::string> candidates = known;
  candidates.emplace_back(config_file_variable);
  for (auto entry = environ; *entry != nullptr; ++entry) {
    std::string_view assignment{*entry};
    auto name = assignment.substr(0, assignment.find('='));
    if (name.substr(0, env_prefix.size()) != env_prefix)
      continue;
    if (std::find(candidates.begin(), candidates.end(), name) ==
        candidates.end())
      return invalid("unknown variable " + std::string{name} +
                     " in the environment" + suggestion(name, candidates));
  }
  return caf::none;
}

std::string show(const caf::config_value& value) {
  if (auto x = caf::get_if<caf::timespan>(&value)) {
    auto ns = x->count();
    struct unit {
      int64_t ns;
      const char* suffix;
    };
    constexpr unit units[] = {{3'600'000'000'000, "h"},
                              {60'000'000'000, "min"},
                              {1'000'000'000, "s"},
                              {1'000'000, "ms"}};
    for (auto u : units)
      if (ns != 0 && ns % u.ns == 0)
        return std::to_string(ns / u.ns) + u.suffix;
    return std::to_string(ns) + "ns";
  }
  if (auto x = caf::get_if<double>(&value)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", *x);
    return buf;
  }
  if (auto x = caf::get_if<std::string>(&value))
    return *x;
  return to_string(value);
}

std::string masked(const std::string& key, const std::string& value) {
  if (is_url_setting(key))
    return mask_secrets(value);
  if (is_secret(key) && !value.empty())
    return "***";
  return value;
}

caf::error read_secret_files(const caf::config_option_set& options,
                             source_map& sources) {
  for (const auto& file_option : options) {
    auto file_key = qualified_name(file_option);
    if (file_key.size() <= file_suffix.size() ||
        file_key.compare(file_key.size() - file_suffix.size(),
                         file_suffix.size(), file_suffix) != 0)
      continue;
    auto key = file_key.substr(0, file_key.size() - file_suffix.size());
    auto option = options.qualified_name_lookup(key);
    auto path_value = file_option.get();
    auto path = path_value ? caf::get_if<std::string>(&*path_value) : nullptr;
    if (option == nullptr || path == nullptr || path->empty())
      continue;
    auto file_source = sources.count(file_key) ? sources[file_key] : "default";
    // An empty value is what the shipped INI file has: not set.
    auto current = option->get();
    auto current_text = current ? caf::get_if<std::string>(&*current) : nullptr;
    if (current_text != nullptr && !current_text->empty())
      return invalid(
        key + " (" + (sources.count(key) ? sources[key] : "default") +
        ") and " + file_key + " (" + file_source + ") are both set; keep one");
    std::ifstream in{*path, std::ios::binary};
    if (!in)
      return invalid(file_key + " " + *path + " cannot be read: " +
                     std::strerror(errno) + " (" + file_source + ")");
    std::string secret;
    try {
      secret.assign(std::istreambuf_iterator<char>{in}, {});
    } catch (const std::ios_base::failure&) {
      // libstdc++ throws from a read that fails after opening (a directory).
      return invalid(file_key + " " + *path + " cannot be read: " +
                     std::strerror(errno) + " (" + file_source + ")");
    }
    // What `echo secret > file` and most secret stores leave at the end.
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
      secret.pop_back();
    if (secret.empty())
      return invalid(file_key + " " + *path + " is empty (" + file_source +
                     ")");
    caf::config_value value{secret};
    if (option->check(value))
      return invalid(key + " cannot be read from a file (" + file_key + ")");
    option->store(value);
    sources[key] = "secret file " + *path;
  }
  return caf::none;
}

} // namespace backfilld::config_check

// -- the members of `config` that report on what was loaded ----------------

namespace backfilld {

using config_check::invalid;

std::string config::source_of(const std::string& key) const {
  auto i = sources_.find(key);
  return i == sources_.end() ? "default" : i->second;
}

caf::error config::check_log_level() const {
  // from_str maps unknown names to "off"; only "off" itself may mean off.
  if (spdlog::level::from_str(log_level) == spdlog::level::off &&
      log_level != "off")
    return invalid("log.level " + log_level +
                   " is not one of trace debug info warn error critical off (" +
                   source_of("log.level") + ")");
  if (log_format != "text" && log_format != "json")
    return invalid("log.format " + log_format + " is not one of text json (" +
                   source_of("log.format") + ")");
  return caf::none;
}

caf::error config::validate() const {
  if (auto err = check_log_level())
    return err;
  if (auto settings = pipeline(); !settings)
    return settings.error();
  if (auto err = check_metrics())
    return err;
  if (auto cluster_settings = cluster(); !cluster_settings)
    return cluster_settings.error();
  return caf::none;
}

std::string config::effective_text() const {
  auto line = [this](const std::string& key, const std::string& value) {
    auto text = key + " = " + value;
    text.resize(std::max<size_t>(text.size() + 3, 56), ' ');
    return text + "(" + source_of(key) + ")\n";
  };
  auto result =
    line("config-file", config_file.empty() ? "(none)" : config_file);
  for (auto i = custom_options_.begin(); i != custom_options_.end(); ++i) {
    auto key = config_check::qualified_name(*i);
    auto own =
      static_cast<size_t>(i - custom_options_.begin()) >= own_options_begin_;
    if (key == "config-file" || (!own && !sources_.count(key)))
      continue;
    std::string text = "(unset)";
    auto bound = i->get();
    auto value = bound ? &*bound : caf::get_if(&content, key);
    if (value != nullptr) {
      text = config_check::masked(key, config_check::show(*value));
      if (caf::holds_alternative<std::string>(*value))
        text = "\"" + text + "\"";
    }
    result += line(key, text);
  }
  return result;
}

} // namespace backfilld
