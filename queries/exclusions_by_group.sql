-- Lengths of exclusion and suspension episodes (start to end) for each group of the chosen split,
-- optionally broken down ($breakdown: 'org_type', 'region', 'concern' or 'referral_year', the financial
-- year of the case's referral by its first calendar year; anything else gives one level, 'all'). An episode with no end date is ongoing: censored at the extract date (the
-- extract_date() macro, from meta). Cases are those matching the filters (by referral
-- date); a case may have more than one episode. Aggregated to distinct durations with a count.
-- Returns: one row per level, group, stage, duration and status: level, grp, stage, days, ended, n, n_key
-- (n_key: the cell key of n, the sum of its cases' record keys, for disclosure control)
-- Params: split, breakdown, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH episodes AS (
    SELECT
        case_id,
        stage,
        greatest(coalesce(end_date, extract_date()) - start_date, 0)::INTEGER AS days,
        end_date IS NOT NULL AS ended
    FROM case_events
    WHERE stage IN ('exclusion', 'suspension')
),
chosen AS (
    SELECT f.grp, f.org_type, f.region, f.concern_types, f.fy_start, f.record_key, e.stage, e.days, e.ended
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns) AS f
    JOIN episodes AS e USING (case_id)
    WHERE f.stage_mask & 12 > 0  -- reached exclusion (4) or suspension (8): the few cases with an episode
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
        stage,
        days,
        ended,
        record_key
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT unnest(concern_types) AS level, grp, stage, days, ended, record_key
    FROM chosen
    WHERE $breakdown = 'concern'
)
SELECT level, grp, stage, days, ended, count(*)::BIGINT AS n, sum(record_key)::BIGINT AS n_key
FROM leveled
GROUP BY level, grp, stage, days, ended
ORDER BY level, grp, stage, days, ended
