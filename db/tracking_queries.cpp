#include "db/tracking_queries.hpp"

#include <pqxx/pqxx>

#include "db/array_literal.hpp"
#include "db/prepared.hpp"

namespace backfilld {

namespace {

const prepared_sql refresh_sql{"backfilld_refresh_tracking", R"sql(
INSERT INTO tracked_assets AS ta (asset_id, tracking_users, last_price_update)
SELECT a.id,
       (SELECT count(DISTINCT t.portfolio_id) FROM transactions t
        WHERE t.asset_id = a.id),
       CASE WHEN a.id = ANY($2::int[]) THEN now()
            ELSE (SELECT max(p.fetched_at) FROM asset_prices p
                  WHERE p.asset_id = a.id) END
FROM assets a
WHERE a.id = ANY($1::int[])
  AND lower(a.asset_type) NOT IN ('cash', 'custom')
  AND EXISTS (SELECT 1 FROM asset_prices p WHERE p.asset_id = a.id)
  -- A row stays and counts down to zero when the asset's last transaction
  -- is deleted; an asset nobody ever held gets none.
  AND (EXISTS (SELECT 1 FROM transactions t WHERE t.asset_id = a.id)
       OR EXISTS (SELECT 1 FROM tracked_assets x WHERE x.asset_id = a.id))
ON CONFLICT (asset_id) DO UPDATE
SET tracking_users = EXCLUDED.tracking_users,
    last_price_update = CASE WHEN EXCLUDED.asset_id = ANY($2::int[])
                             THEN EXCLUDED.last_price_update
                             ELSE coalesce(ta.last_price_update,
                                           EXCLUDED.last_price_update) END
WHERE ta.tracking_users IS DISTINCT FROM EXCLUDED.tracking_users
   OR EXCLUDED.asset_id = ANY($2::int[])
   OR (ta.last_price_update IS NULL
       AND EXCLUDED.last_price_update IS NOT NULL)
)sql"};

} // namespace

int32_t refresh_tracking(pqxx::connection_base& conn,
                         const std::vector<asset_id>& assets,
                         const std::vector<asset_id>& fresh) {
  if (assets.empty())
    return 0;
  pqxx::work txn{conn};
  auto rows = exec_prepared(txn, refresh_sql, array_literal(assets),
                            array_literal(fresh));
  txn.commit();
  return static_cast<int32_t>(rows.affected_rows());
}

} // namespace backfilld
