// One source of daily prices behind one interface, so that the fetcher can
// walk a chain of them (see provider/PROVIDERS.md). Plain C++, no actors:
// each implementation only builds a request and reads an answer, wrapping
// the pure module of its provider (yahoo_chart, frankfurter, coingecko,
// tiingo).

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "messages/ec.hpp"
#include "messages/types.hpp"
#include "provider/coingecko.hpp"
#include "provider/wire.hpp"
#include "provider/yahoo_chart.hpp"

namespace backfilld {

/// Where each provider lives and what it needs, from config.
struct provider_settings {
  std::string yahoo_base_url = "https://query1.finance.yahoo.com";
  std::string frankfurter_base_url = "https://api.frankfurter.dev";
  std::string coingecko_base_url = "https://api.coingecko.com";
  /// Optional: CoinGecko serves keyless clients too.
  std::string coingecko_demo_key;
  /// Ticker → coin id, the built-in table with config's entries on top.
  coin_id_table coingecko_ids = coingecko_default_ids();
  std::string tiingo_base_url = "https://api.tiingo.com";
  /// Tiingo is off without it.
  std::string tiingo_api_key;
  /// The ordered chains by asset type: "stock", "etf", "crypto", "fx".
  std::map<std::string, std::vector<std::string>> chains{
    {"stock", {"yahoo", "tiingo"}},
    {"etf", {"yahoo", "tiingo"}},
    {"crypto", {"yahoo", "coingecko"}},
    {"fx", {"yahoo", "frankfurter"}},
  };
};

/// The names `make_provider` knows, in the order the docs list them.
const std::vector<std::string>& provider_names();

/// The chain an asset type uses: `stock`, `etf` and `crypto` their own,
/// `currency` and `fx` the fx chain; any other type (mutual funds, indexes)
/// Yahoo alone, the only provider known to cover them.
std::vector<std::string> chain_for(const provider_settings& settings,
                                   std::string_view asset_type);

/// The chain for one asset: `chain_for(asset_type)`, with the provider its
/// tracker row names (`source`, any case, blanks ignored) moved or put
/// first. The others stay behind it as fallbacks, so an outage of the named
/// provider does not stop the asset, and the fallbacks' consistency check
/// keeps a history on the named provider's basis. A name that is no
/// provider is an `invalid_config` fault naming it and the known ones.
fault chain_with_source(const provider_settings& settings,
                        std::string_view asset_type, std::string_view source,
                        std::vector<std::string>& out);

/// One price provider.
class price_provider {
 public:
  virtual ~price_provider() = default;

  /// As recorded in `asset_prices.source`, e.g. "yahoo".
  virtual const char* name() const = 0;

  /// Why it cannot be used at all (a key that is not configured); empty
  /// when usable.
  virtual std::string unusable() const {
    return {};
  }

  /// The request for `job` over `window` at `now` (Unix seconds). Fails
  /// without a request when the provider has no ticker for the asset
  /// (`symbol_not_found`, `invalid_symbol`, `no_market_price`) or cannot
  /// serve the window (`no_data`).
  virtual fault request(const backfill_job& job, const chart_window& window,
                        int64_t now, provider_request& out) const = 0;

  /// Decodes the whole HTTP answer to `request(job, …)`, with the codes of
  /// provider/PROVIDERS.md's common rules.
  virtual fault decode(const backfill_job& job, const http_response& response,
                       int64_t now, price_series& out) const = 0;
};

/// The provider called `name`, or null for a name nobody knows.
std::unique_ptr<price_provider> make_provider(std::string_view name,
                                              const provider_settings& s);

/// The days a chart window covers (a named range counted back from `now`'s
/// UTC day), for providers that ask by date.
void window_days(const chart_window& window, int64_t now, day_number& from,
                 day_number& to);

} // namespace backfilld
