#include "provider/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include <curl/curl.h>

namespace backfilld {

namespace {

/// What the callbacks fill in during one transfer.
struct transfer {
  http_response* response;
  int64_t max_body_bytes;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  auto bytes = size * count;
  if (static_cast<int64_t>(t.response->body.size() + bytes) >
      t.max_body_bytes) {
    t.too_large = true;
    return 0; // Makes curl abort with CURLE_WRITE_ERROR.
  }
  t.response->body.append(data, bytes);
  return bytes;
}

bool starts_with_ci(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  std::string_view line{data, size * count};
  constexpr std::string_view retry_after = "retry-after:";
  if (starts_with_ci(line, retry_after))
    t.response->retry_after_s =
      parse_retry_after(line.substr(retry_after.size()));
  return size * count;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return !in.bad();
}

} // namespace

std::string system_ca_file(const char* ssl_cert_file, const char* builtin) {
  if (ssl_cert_file != nullptr && *ssl_cert_file != '\0')
    return ssl_cert_file;
  return builtin != nullptr ? builtin : "";
}

int64_t parse_retry_after(std::string_view value) {
  auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return -1;
  value.remove_prefix(first);
  int64_t seconds = -1;
  auto [end, err] =
    std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (err != std::errc{} || seconds < 0)
    return -1;
  auto rest = std::string_view{
    end, static_cast<size_t>(value.data() + value.size() - end)};
  if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos)
    return -1;
  return seconds;
}

http_client::http_client(http_options options)
  : options_(std::move(options)),
    handle_(curl_easy_init()) {
  if (options_.ca_file.empty() || handle_ == nullptr)
    return;
  std::string extra;
  if (!read_file(options_.ca_file, extra)) {
    ca_error_ = "cannot read yahoo.ca-file " + options_.ca_file;
    return;
  }
  char* builtin = nullptr;
  curl_easy_getinfo(static_cast<CURL*>(handle_), CURLINFO_CAINFO, &builtin);
  // Without a readable system bundle only the extra CA is trusted: still
  // verified, never less safe.
  read_file(system_ca_file(std::getenv("SSL_CERT_FILE"), builtin), ca_bundle_);
  ca_bundle_ += '\n';
  ca_bundle_ += extra;
}

http_client::~http_client() {
  if (handle_ != nullptr)
    curl_easy_cleanup(static_cast<CURL*>(handle_));
}

fault http_client::get(const std::string& url, http_response& out) {
  return get(http_request{url, {}}, out);
}

fault http_client::get(const http_request& request, http_response& out) {
  const auto& url = request.url;
  auto curl = static_cast<CURL*>(handle_);
  if (curl == nullptr)
    return {ec::network_error, "curl_easy_init failed"};
  out = http_response{};
  transfer t{&out, options_.max_body_bytes};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  // Worker threads must never see curl's SIGALRM-based DNS timeouts.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""); // All curl decodes.
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_error_.empty())
    return {ec::network_error, ca_error_};
  curl_blob bundle{ca_bundle_.data(), ca_bundle_.size(), CURL_BLOB_NOCOPY};
  if (!ca_bundle_.empty())
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &bundle);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{
    nullptr, curl_slist_free_all};
  for (const auto& [name, value] : request.headers) {
    auto line = name + ": " + value;
    auto* more = curl_slist_append(headers.get(), line.c_str());
    if (more == nullptr)
      return {ec::network_error, "curl_slist_append failed"};
    headers.release();
    headers.reset(more);
  }
  if (headers)
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  auto rc = curl_easy_perform(curl);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return {ec::response_too_large, "response exceeds " +
                                      std::to_string(options_.max_body_bytes) +
                                      " bytes"};
  if (rc != CURLE_OK)
    return {ec::network_error, curl_easy_strerror(rc)};
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int32_t>(status);
  const char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr)
    out.content_type = type;
  return {};
}

std::string base_url_problem(std::string_view url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed{curl_url(),
                                                             curl_url_cleanup};
  std::string text{url};
  // Without a default scheme, "query1.yahoo" is refused instead of being
  // read as a host.
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
    return "is not a URL (want http:// or https:// and a host)";
  auto part = [&](CURLUPart which) {
    char* value = nullptr;
    std::string result;
    if (curl_url_get(parsed.get(), which, &value, 0) == CURLUE_OK && value)
      result = value;
    curl_free(value);
    return result;
  };
  auto scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return "has scheme " + scheme + " (want http or https)";
  if (part(CURLUPART_HOST).empty())
    return "has no host";
  return {};
}

} // namespace backfilld
