-- Referral-to-closure times for each group of the chosen split, optionally broken down ($breakdown:
-- 'org_type', 'region', 'concern' or 'referral_year', the financial year of referral by its first calendar
-- year; anything else gives one level, 'all'; a case with two concern types counts under each). Open cases are censored at the extract date (the extract_date() macro,
-- from meta), so they count as "open at least this long", never as finished.
-- Aggregated to distinct (level, group, days, closed) with a count: Kaplan–Meier and log-rank inputs
-- of a few thousand rows however many cases there are.
-- Returns: one row per level, group, duration and status: level, grp, days, closed, n, n_key
-- (n_key: the cell key of n, the sum of its cases' record keys, for disclosure control)
-- Params: split, breakdown, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT
        grp,
        org_type,
        region,
        concern_types,
        fy_start,
        greatest(coalesce(closure_date, extract_date()) - referral_date, 0)::INTEGER AS days,
        closure_date IS NOT NULL AS closed,
        record_key
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
),
leveled AS (
    SELECT
        CASE $breakdown
            WHEN 'org_type' THEN org_type
            WHEN 'region' THEN region
            WHEN 'referral_year' THEN fy_start::VARCHAR
            ELSE 'all'
        END AS level,
        grp,
        days,
        closed,
        record_key
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT unnest(concern_types) AS level, grp, days, closed, record_key
    FROM chosen
    WHERE $breakdown = 'concern'
)
SELECT level, grp, days, closed, count(*)::BIGINT AS n, sum(record_key)::BIGINT AS n_key
FROM leveled
GROUP BY level, grp, days, closed
ORDER BY level, grp, days, closed
