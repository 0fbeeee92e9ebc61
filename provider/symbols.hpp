// From the tracker's (asset_type, symbol) to the provider's ticker.

#pragma once

#include <string>
#include <string_view>

#include "messages/ec.hpp"

namespace backfilld {

/// Maps an asset to its Yahoo ticker:
/// - `stock`, `etf`, `mutual_fund`, `index` (and unknown types): as is;
/// - `crypto`: `BTC` becomes `BTC-USD`; an already suffixed pair stays;
/// - `currency`/`fx`: `EURUSD` (or `EUR/USD`) becomes `EURUSD=X`;
/// - `cash`, `custom`: `no_market_price`.
/// Symbols are upper-cased; anything but letters, digits and `.-^=&_` fails
/// with `invalid_symbol`, so nothing else can reach a URL.
fault yahoo_symbol(std::string_view asset_type, std::string_view symbol,
                   std::string& out);

/// Whether an asset type has prices on a market at all.
bool has_market_price(std::string_view asset_type);

} // namespace backfilld
