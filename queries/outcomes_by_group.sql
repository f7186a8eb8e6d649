-- Stages reached (among all cases) and outcomes (among closed cases), counted for each group of the
-- chosen split, optionally broken down ($breakdown: 'org_type', 'region' or 'concern'; anything else
-- gives one level, 'all'). A case with two concern types counts under each. A case reaches a stage
-- when it has at least one event of it. Two combined measures: exclusion_or_suspension (either
-- stage), and formal_without_informal (a formal investigation with no informal resolution starting on
-- or before the case's first formal one). Every group appears in its 'cases' and 'closed' rows; other
-- measures only where counted.
-- Returns: one row per level, group and measure: level, grp, kind, measure, events, denominator
-- Params: split, breakdown, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
WITH chosen AS (
    SELECT case_id, grp, org_type, region, concern_types, outcome, closure_date IS NOT NULL AS closed
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
),
leveled AS (
    SELECT
        case_id,
        grp,
        CASE $breakdown WHEN 'org_type' THEN org_type WHEN 'region' THEN region ELSE 'all' END AS level,
        outcome,
        closed
    FROM chosen
    WHERE $breakdown <> 'concern'
    UNION ALL
    SELECT case_id, grp, unnest(concern_types) AS level, outcome, closed
    FROM chosen
    WHERE $breakdown = 'concern'
),
reached AS (
    SELECT DISTINCT case_id, stage AS measure
    FROM case_events
    UNION ALL
    SELECT case_id, 'exclusion_or_suspension'
    FROM case_events
    WHERE stage IN ('exclusion', 'suspension')
    GROUP BY case_id
    UNION ALL
    SELECT case_id, 'formal_without_informal'
    FROM case_events
    GROUP BY case_id
    HAVING min(start_date) FILTER (WHERE stage = 'formal_investigation')
        < coalesce(min(start_date) FILTER (WHERE stage = 'informal_resolution'), DATE '9999-12-31')
),
sizes AS (
    SELECT level, grp, count(*) AS cases, count(*) FILTER (WHERE closed) AS closed
    FROM leveled
    GROUP BY level, grp
),
stage_counts AS (
    SELECT l.level, l.grp, r.measure, count(*) AS events
    FROM leveled AS l
    JOIN reached AS r USING (case_id)
    GROUP BY l.level, l.grp, r.measure
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
