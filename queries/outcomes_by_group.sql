-- Stages reached (among all cases) and outcomes (among closed cases), counted for each group of the
-- chosen split, optionally broken down ($breakdown: 'org_type', 'region' or 'concern'; anything else
-- gives one level, 'all'). A case with two concern types counts under each. A case reaches a stage
-- when it has at least one event of it: ingest records that in the case's stage_mask, one bit per
-- stage in the order of contract.STAGES (informal_resolution 1, formal_investigation 2, exclusion 4,
-- suspension 8, restriction 16, assessment 32, action_plan 64, regulator_referral 128,
-- disciplinary_hearing 256), so no event is scanned here. Two combined measures:
-- exclusion_or_suspension (either stage), and formal_without_informal (a formal investigation with no
-- informal resolution starting on or before the case's first formal one). Every group appears in its
-- 'cases' and 'closed' rows; other measures only where counted.
-- Returns: one row per level, group and measure: level, grp, kind, measure, events, denominator
-- Params: split, breakdown, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT grp, org_type, region, concern_types, outcome, closure_date IS NOT NULL AS closed, stage_mask,
        formal_without_informal
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
),
leveled AS (
    SELECT
        grp,
        CASE $breakdown WHEN 'org_type' THEN org_type WHEN 'region' THEN region ELSE 'all' END AS level,
        outcome,
        closed,
        stage_mask,
        formal_without_informal
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT grp, unnest(concern_types) AS level, outcome, closed, stage_mask, formal_without_informal
    FROM chosen
    WHERE $breakdown = 'concern'
),
sizes AS (
    SELECT
        level,
        grp,
        count(*) AS cases,
        count(*) FILTER (WHERE closed) AS closed,
        count(*) FILTER (WHERE stage_mask & 1 > 0) AS informal_resolution,
        count(*) FILTER (WHERE stage_mask & 2 > 0) AS formal_investigation,
        count(*) FILTER (WHERE stage_mask & 4 > 0) AS exclusion,
        count(*) FILTER (WHERE stage_mask & 8 > 0) AS suspension,
        count(*) FILTER (WHERE stage_mask & 16 > 0) AS restriction,
        count(*) FILTER (WHERE stage_mask & 32 > 0) AS assessment,
        count(*) FILTER (WHERE stage_mask & 64 > 0) AS action_plan,
        count(*) FILTER (WHERE stage_mask & 128 > 0) AS regulator_referral,
        count(*) FILTER (WHERE stage_mask & 256 > 0) AS disciplinary_hearing,
        count(*) FILTER (WHERE stage_mask & 12 > 0) AS exclusion_or_suspension,
        count(*) FILTER (WHERE formal_without_informal) AS formal_without_informal
    FROM leveled
    GROUP BY level, grp
),
stage_counts AS (
    UNPIVOT sizes
    ON informal_resolution, formal_investigation, exclusion, suspension, restriction, assessment, action_plan,
        regulator_referral, disciplinary_hearing, exclusion_or_suspension, formal_without_informal
    INTO NAME measure VALUE events
),
outcome_counts AS (
    SELECT level, grp, outcome AS measure, count(*) AS events
    FROM leveled
    WHERE closed
    GROUP BY level, grp, outcome
)
SELECT level, grp, 'all' AS kind, 'cases' AS measure, cases::BIGINT AS events, cases::BIGINT AS denominator
FROM sizes
UNION ALL
SELECT level, grp, 'all', 'closed', closed::BIGINT, cases::BIGINT
FROM sizes
UNION ALL
SELECT level, grp, 'stage', measure, events::BIGINT, cases::BIGINT
FROM stage_counts
WHERE events > 0
UNION ALL
SELECT s.level, s.grp, 'outcome', c.measure, c.events::BIGINT, s.closed::BIGINT
FROM outcome_counts AS c
JOIN sizes AS s USING (level, grp)
ORDER BY level, grp, kind, measure
