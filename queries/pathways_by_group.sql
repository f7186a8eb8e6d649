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
-- Cases are first grouped by what the counts depend on (kinds: a few hundred rows per level and group),
-- then the counts are summed from those: one plain count per case instead of thirteen filtered ones.
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
kinds AS (
    SELECT level, grp, stage_mask, formal_without_informal, closed,
        closed AND outcome = 'dismissed_or_removed' AS dismissed, closed AND outcome = 'formal_sanction' AS sanctioned,
        count(*) AS n, sum(record_key) AS n_key
    FROM leveled
    GROUP BY ALL
),
sizes AS (
    SELECT
        level,
        grp,
        sum(n) AS cases,
        sum(n_key) AS cases_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 1 > 0), 0) AS informal,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 1 > 0), 0) AS informal_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 3 = 3 AND NOT formal_without_informal), 0) AS escalated,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 3 = 3 AND NOT formal_without_informal), 0) AS escalated_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 2 > 0), 0) AS formal,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 2 > 0), 0) AS formal_key,
        coalesce(sum(n) FILTER (WHERE formal_without_informal), 0) AS formal_first,
        coalesce(sum(n_key) FILTER (WHERE formal_without_informal), 0) AS formal_first_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 12 > 0), 0) AS excluded,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 12 > 0), 0) AS excluded_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 18 = 18), 0) AS restricted,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 18 = 18), 0) AS restricted_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 34 = 34), 0) AS assessed,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 34 = 34), 0) AS assessed_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 258 = 258), 0) AS heard,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 258 = 258), 0) AS heard_key,
        coalesce(sum(n) FILTER (WHERE stage_mask & 130 = 130), 0) AS to_regulator,
        coalesce(sum(n_key) FILTER (WHERE stage_mask & 130 = 130), 0) AS to_regulator_key,
        coalesce(sum(n) FILTER (WHERE closed), 0) AS closed,
        coalesce(sum(n_key) FILTER (WHERE closed), 0) AS closed_key,
        coalesce(sum(n) FILTER (WHERE dismissed), 0) AS dismissed,
        coalesce(sum(n_key) FILTER (WHERE dismissed), 0) AS dismissed_key,
        coalesce(sum(n) FILTER (WHERE sanctioned), 0) AS sanctioned,
        coalesce(sum(n_key) FILTER (WHERE sanctioned), 0) AS sanctioned_key
    FROM kinds
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
