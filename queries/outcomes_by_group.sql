-- Stages reached (among all cases) and outcomes (among closed cases), counted for each group of the
-- chosen split, optionally broken down ($breakdown: 'org_type', 'region' or 'concern'; anything else
-- gives one level, 'all'). A case with two concern types counts under each. A case reaches a stage
-- when it has at least one event of it. Two combined measures: exclusion_or_suspension (either
-- stage), and formal_without_informal (a formal investigation with no informal resolution starting on
-- or before the case's first formal one). Every group appears in its 'cases' and 'closed' rows; other
-- measures only where counted. Stages come from each case's ``stages`` and ``formal_without_informal``,
-- which ingest derives from case_events, so no event is scanned here.
-- Returns: one row per level, group and measure: level, grp, kind, measure, events, denominator
-- Params: split, breakdown, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT grp, org_type, region, concern_types, outcome, closure_date IS NOT NULL AS closed,
        list_concat(
            stages,
            CASE WHEN list_has_any(stages, ['exclusion', 'suspension']) THEN ['exclusion_or_suspension'] ELSE [] END,
            CASE WHEN formal_without_informal THEN ['formal_without_informal'] ELSE [] END
        ) AS reached
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
),
leveled AS (
    SELECT
        grp,
        CASE $breakdown WHEN 'org_type' THEN org_type WHEN 'region' THEN region ELSE 'all' END AS level,
        outcome,
        closed,
        reached
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT grp, unnest(concern_types) AS level, outcome, closed, reached
    FROM chosen
    WHERE $breakdown = 'concern'
),
sizes AS (
    SELECT level, grp, count(*) AS cases, count(*) FILTER (WHERE closed) AS closed
    FROM leveled
    GROUP BY level, grp
),
stage_counts AS (
    SELECT level, grp, measure, count(*) AS events
    FROM (SELECT level, grp, unnest(reached) AS measure FROM leveled)
    GROUP BY level, grp, measure
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
SELECT s.level, s.grp, 'stage', c.measure, c.events::BIGINT, s.cases::BIGINT
FROM stage_counts AS c
JOIN sizes AS s USING (level, grp)
UNION ALL
SELECT s.level, s.grp, 'outcome', c.measure, c.events::BIGINT, s.closed::BIGINT
FROM outcome_counts AS c
JOIN sizes AS s USING (level, grp)
ORDER BY level, grp, kind, measure
