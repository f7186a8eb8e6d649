-- Cases at each step of the pathway and how many of them took the next one, counted for each group of
-- the chosen split among cases referred at least $followup_months months before the extract date (the
-- extract_date() macro), so that every case counted has had that long to move along; optionally broken
-- down ($breakdown: 'org_type', 'region', 'concern' or 'org' for the organisation code; anything else
-- gives one level, 'all'; a case with two concern types counts under each). Stages come from the case's
-- stage_mask (one bit per stage, contract.STAGE_BITS: informal_resolution 1, formal_investigation 2,
-- exclusion 4, suspension 8, restriction 16, assessment 32, regulator_referral 128,
-- disciplinary_hearing 256) and its formal_without_informal flag, so no event is scanned. Counts only:
-- each count is a number of cases (cases, informal, escalated, formal, formal_first, excluded,
-- restricted, assessed, heard, to_regulator, closed, dismissed, sanctioned); parity.measures.pathways
-- pairs them into steps. Every group appears in its 'cases' row; other counts only where not zero.
-- Each count comes with its cell key (n_key: the sum of its cases' record keys) for disclosure control.
-- Returns: one row per level, group and count: level, grp, count_name, n, n_key
-- Params: split, breakdown, followup_months, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT grp, org_code, org_type, region, concern_types, outcome, closure_date IS NOT NULL AS closed, stage_mask,
        formal_without_informal, record_key
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
    WHERE referral_date <= extract_date() - to_months($followup_months)
),
leveled AS (
    SELECT
        grp,
        CASE $breakdown
            WHEN 'org_type' THEN org_type WHEN 'region' THEN region WHEN 'org' THEN org_code ELSE 'all'
        END AS level,
        outcome,
        closed,
        stage_mask,
        formal_without_informal,
        record_key
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT grp, unnest(concern_types) AS level, outcome, closed, stage_mask, formal_without_informal, record_key
    FROM chosen
    WHERE $breakdown = 'concern'
),
sizes AS (
    SELECT
        level,
        grp,
        count(*) AS cases,
        sum(record_key) AS cases_key,
        count(*) FILTER (WHERE stage_mask & 1 > 0) AS informal,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 1 > 0), 0) AS informal_key,
        count(*) FILTER (WHERE stage_mask & 3 = 3 AND NOT formal_without_informal) AS escalated,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 3 = 3 AND NOT formal_without_informal), 0) AS escalated_key,
        count(*) FILTER (WHERE stage_mask & 2 > 0) AS formal,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 2 > 0), 0) AS formal_key,
        count(*) FILTER (WHERE formal_without_informal) AS formal_first,
        coalesce(sum(record_key) FILTER (WHERE formal_without_informal), 0) AS formal_first_key,
        count(*) FILTER (WHERE stage_mask & 12 > 0) AS excluded,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 12 > 0), 0) AS excluded_key,
        count(*) FILTER (WHERE stage_mask & 18 = 18) AS restricted,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 18 = 18), 0) AS restricted_key,
        count(*) FILTER (WHERE stage_mask & 34 = 34) AS assessed,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 34 = 34), 0) AS assessed_key,
        count(*) FILTER (WHERE stage_mask & 258 = 258) AS heard,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 258 = 258), 0) AS heard_key,
        count(*) FILTER (WHERE stage_mask & 130 = 130) AS to_regulator,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 130 = 130), 0) AS to_regulator_key,
        count(*) FILTER (WHERE closed) AS closed,
        coalesce(sum(record_key) FILTER (WHERE closed), 0) AS closed_key,
        count(*) FILTER (WHERE closed AND outcome = 'dismissed_or_removed') AS dismissed,
        coalesce(sum(record_key) FILTER (WHERE closed AND outcome = 'dismissed_or_removed'), 0) AS dismissed_key,
        count(*) FILTER (WHERE closed AND outcome = 'formal_sanction') AS sanctioned,
        coalesce(sum(record_key) FILTER (WHERE closed AND outcome = 'formal_sanction'), 0) AS sanctioned_key
    FROM leveled
    GROUP BY level, grp
)
SELECT level, grp, count_name, n::BIGINT AS n, n_key::BIGINT AS n_key
FROM (
    UNPIVOT sizes
    ON (cases, cases_key) AS cases, (informal, informal_key) AS informal, (escalated, escalated_key) AS escalated, (formal, formal_key) AS formal, (formal_first, formal_first_key) AS formal_first, (excluded, excluded_key) AS excluded, (restricted, restricted_key) AS restricted, (assessed, assessed_key) AS assessed, (heard, heard_key) AS heard, (to_regulator, to_regulator_key) AS to_regulator, (closed, closed_key) AS closed, (dismissed, dismissed_key) AS dismissed, (sanctioned, sanctioned_key) AS sanctioned
    INTO NAME count_name VALUE n, n_key
)
WHERE n > 0 OR count_name = 'cases'
ORDER BY level, grp, count_name
