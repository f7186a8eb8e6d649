-- Stages reached (among all cases) and outcomes (among closed cases), counted for each group of the
-- chosen split, optionally broken down ($breakdown: 'org_type', 'region' or 'concern'; anything else
-- gives one level, 'all'). A case with two concern types counts under each. A case reaches a stage
-- when it has at least one event of it: ingest records that in the case's stage_mask, one bit per
-- stage in the order of contract.STAGES (informal_resolution 1, formal_investigation 2, exclusion 4,
-- suspension 8, restriction 16, assessment 32, action_plan 64, regulator_referral 128,
-- disciplinary_hearing 256), so no event is scanned here. Two combined measures:
-- exclusion_or_suspension (either stage), and formal_without_informal (a formal investigation with no
-- informal resolution starting on or before the case's first formal one). Every group appears in its
-- 'cases' and 'closed' rows; other measures only where counted. Only cases referred at least
-- $followup_months months before the extract date (the extract_date() macro) count: 0 keeps every case, 12
-- a cohort whose every case has had a year to move along its pathway and close.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- The cases are counted once, into cells of level, group, status, outcome and stages reached (a few thousand),
-- and every measure is summed from those cells: one pass over the cases instead of two.
-- Returns: one row per level, group and measure: level, grp, kind, measure, events, events_key, denominator, denominator_key
-- Params: split, breakdown, followup_months, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT grp, org_type, region, concern_types, outcome, closure_date IS NOT NULL AS closed, stage_mask,
        formal_without_informal, record_key
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
    WHERE referral_date <= extract_date() - to_months($followup_months)
),
leveled AS (
    SELECT
        grp,
        CASE $breakdown WHEN 'org_type' THEN org_type WHEN 'region' THEN region ELSE 'all' END AS level,
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
fine AS (
    SELECT level, grp, closed, outcome, stage_mask, formal_without_informal, count(*) AS n, sum(record_key) AS k
    FROM leveled
    GROUP BY ALL
),
sizes AS (
    SELECT
        level,
        grp,
        sum(n) AS cases,
        sum(k) AS cases_key,
        coalesce(sum(n) FILTER (WHERE closed), 0) AS closed,
        coalesce(sum(k) FILTER (WHERE closed), 0) AS closed_key,
        sum(n) FILTER (WHERE stage_mask & 1 > 0) AS informal_resolution,
        sum(k) FILTER (WHERE stage_mask & 1 > 0) AS informal_resolution_key,
        sum(n) FILTER (WHERE stage_mask & 2 > 0) AS formal_investigation,
        sum(k) FILTER (WHERE stage_mask & 2 > 0) AS formal_investigation_key,
        sum(n) FILTER (WHERE stage_mask & 4 > 0) AS exclusion,
        sum(k) FILTER (WHERE stage_mask & 4 > 0) AS exclusion_key,
        sum(n) FILTER (WHERE stage_mask & 8 > 0) AS suspension,
        sum(k) FILTER (WHERE stage_mask & 8 > 0) AS suspension_key,
        sum(n) FILTER (WHERE stage_mask & 16 > 0) AS restriction,
        sum(k) FILTER (WHERE stage_mask & 16 > 0) AS restriction_key,
        sum(n) FILTER (WHERE stage_mask & 32 > 0) AS assessment,
        sum(k) FILTER (WHERE stage_mask & 32 > 0) AS assessment_key,
        sum(n) FILTER (WHERE stage_mask & 64 > 0) AS action_plan,
        sum(k) FILTER (WHERE stage_mask & 64 > 0) AS action_plan_key,
        sum(n) FILTER (WHERE stage_mask & 128 > 0) AS regulator_referral,
        sum(k) FILTER (WHERE stage_mask & 128 > 0) AS regulator_referral_key,
        sum(n) FILTER (WHERE stage_mask & 256 > 0) AS disciplinary_hearing,
        sum(k) FILTER (WHERE stage_mask & 256 > 0) AS disciplinary_hearing_key,
        sum(n) FILTER (WHERE stage_mask & 12 > 0) AS exclusion_or_suspension,
        sum(k) FILTER (WHERE stage_mask & 12 > 0) AS exclusion_or_suspension_key,
        sum(n) FILTER (WHERE formal_without_informal) AS formal_without_informal,
        sum(k) FILTER (WHERE formal_without_informal) AS formal_without_informal_key
    FROM fine
    GROUP BY level, grp
),
stage_counts AS (
    UNPIVOT sizes
    ON (informal_resolution, informal_resolution_key) AS informal_resolution, (formal_investigation, formal_investigation_key) AS formal_investigation, (exclusion, exclusion_key) AS exclusion, (suspension, suspension_key) AS suspension, (restriction, restriction_key) AS restriction, (assessment, assessment_key) AS assessment, (action_plan, action_plan_key) AS action_plan, (regulator_referral, regulator_referral_key) AS regulator_referral, (disciplinary_hearing, disciplinary_hearing_key) AS disciplinary_hearing, (exclusion_or_suspension, exclusion_or_suspension_key) AS exclusion_or_suspension, (formal_without_informal, formal_without_informal_key) AS formal_without_informal
    INTO NAME measure VALUE events, events_key
),
outcome_counts AS (
    SELECT level, grp, outcome AS measure, sum(n) AS events, sum(k) AS events_key
    FROM fine
    WHERE closed
    GROUP BY level, grp, outcome
)
SELECT level, grp, 'all' AS kind, 'cases' AS measure, cases::BIGINT AS events, cases_key::BIGINT AS events_key,
    cases::BIGINT AS denominator, cases_key::BIGINT AS denominator_key
FROM sizes
UNION ALL
SELECT level, grp, 'all', 'closed', closed::BIGINT, closed_key::BIGINT, cases::BIGINT, cases_key::BIGINT
FROM sizes
UNION ALL
SELECT s.level, s.grp, 'stage', c.measure, c.events::BIGINT, c.events_key::BIGINT, s.cases::BIGINT,
    s.cases_key::BIGINT
FROM stage_counts AS c
JOIN sizes AS s USING (level, grp)
WHERE c.events > 0
UNION ALL
SELECT s.level, s.grp, 'outcome', c.measure, c.events::BIGINT, c.events_key::BIGINT, s.closed::BIGINT,
    s.closed_key::BIGINT
FROM outcome_counts AS c
JOIN sizes AS s USING (level, grp)
ORDER BY level, grp, kind, measure
