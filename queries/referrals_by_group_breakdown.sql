-- The drilled group and the reference group broken down by organisation type, region and concern
-- type: referral counts and practitioner headcount in each level, so that each level's rate can be
-- compared with the reference group's in the same level. Concern types share the group's headcount
-- (the workforce has no concern type); a case counts once under each of its types. Grade is not a
-- parameter: the workforce has no grade.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per dimension, level and group: dimension, level, grp, cases, cases_key, headcount, headcount_key
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns, drill_group, reference
WITH chosen_cases AS (
    SELECT grp, org_type, region, concern_types, record_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    WHERE grp = $drill_group OR grp = $reference
),
chosen_workforce AS (
    SELECT grp, org_type, region, headcount, record_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    WHERE grp = $drill_group OR grp = $reference
),
by_place AS (
    SELECT
        CASE WHEN grouping(org_type) = 0 THEN 'org_type' ELSE 'region' END AS dimension,
        coalesce(org_type, region) AS level,
        grp,
        count(*) AS cases,
        sum(record_key) AS cases_key
    FROM chosen_cases
    GROUP BY GROUPING SETS ((grp, org_type), (grp, region))
),
-- Counted per distinct list of concern types first (by the list's hash), then each list unnested once.
by_list AS (
    SELECT grp, hash(concern_types) AS list_hash, any_value(concern_types) AS types, count(*) AS cases,
        sum(record_key) AS cases_key
    FROM chosen_cases
    GROUP BY grp, list_hash
),
by_concern AS (
    SELECT 'concern' AS dimension, concern AS level, grp, sum(cases) AS cases, sum(cases_key) AS cases_key
    FROM (SELECT grp, unnest(types) AS concern, cases, cases_key FROM by_list)
    WHERE $concerns IS NULL OR list_contains($concerns, concern)
    GROUP BY grp, concern
),
referred AS (
    SELECT * FROM by_place
    UNION ALL
    SELECT * FROM by_concern
),
at_place AS (
    SELECT
        CASE WHEN grouping(org_type) = 0 THEN 'org_type' ELSE 'region' END AS dimension,
        coalesce(org_type, region) AS level,
        grp,
        sum(headcount) AS headcount,
        sum(record_key) AS headcount_key
    FROM chosen_workforce
    GROUP BY GROUPING SETS ((grp, org_type), (grp, region))
),
group_headcount AS (
    SELECT grp, sum(headcount) AS headcount, sum(record_key) AS headcount_key FROM chosen_workforce GROUP BY grp
),
at_risk AS (
    SELECT * FROM at_place
    UNION ALL
    SELECT 'concern', seen.level, grp, headcount, headcount_key
    FROM group_headcount
    CROSS JOIN (SELECT DISTINCT level FROM by_concern) AS seen
)
SELECT
    dimension,
    level,
    grp,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(referred.cases_key, 0)::BIGINT AS cases_key,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount,
    coalesce(at_risk.headcount_key, 0)::BIGINT AS headcount_key
FROM at_risk
FULL OUTER JOIN referred USING (dimension, level, grp)
ORDER BY dimension, level, grp
