-- The drilled group and the reference group broken down by organisation type, region and concern
-- type: referral counts and practitioner headcount in each level, so that each level's rate can be
-- compared with the reference group's in the same level. Concern types share the group's headcount
-- (the workforce has no concern type); a case counts once under each of its types. Grade is not a
-- parameter: the workforce has no grade.
-- Returns: one row per dimension, level and group: dimension, level, grp, cases, headcount
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns, drill_group, reference
WITH chosen_cases AS (
    SELECT grp, org_type, region, concern_types
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    WHERE grp = $drill_group OR grp = $reference
),
chosen_workforce AS (
    SELECT grp, org_type, region, headcount
    FROM filtered_workforce($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    WHERE grp = $drill_group OR grp = $reference
),
by_concern AS (
    SELECT grp, unnest(concern_types) AS concern FROM chosen_cases
),
referred AS (
    SELECT 'org_type' AS dimension, org_type AS level, grp, count(*) AS cases FROM chosen_cases GROUP BY ALL
    UNION ALL
    SELECT 'region', region, grp, count(*) FROM chosen_cases GROUP BY ALL
    UNION ALL
    SELECT 'concern', concern, grp, count(*)
    FROM by_concern
    WHERE $concerns IS NULL OR list_contains($concerns, concern)
    GROUP BY ALL
),
group_headcount AS (
    SELECT grp, sum(headcount) AS headcount FROM chosen_workforce GROUP BY grp
),
at_risk AS (
    SELECT 'org_type' AS dimension, org_type AS level, grp, sum(headcount) AS headcount
    FROM chosen_workforce
    GROUP BY ALL
    UNION ALL
    SELECT 'region', region, grp, sum(headcount) FROM chosen_workforce GROUP BY ALL
    UNION ALL
    SELECT 'concern', seen.concern, grp, headcount
    FROM group_headcount
    CROSS JOIN (SELECT DISTINCT level AS concern FROM referred WHERE dimension = 'concern') AS seen
)
SELECT
    dimension,
    level,
    grp,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount
FROM at_risk
FULL OUTER JOIN referred USING (dimension, level, grp)
ORDER BY dimension, level, grp
