-- Referral counts by concern type, and practitioner headcount, for each group of the chosen split. A
-- case counts once under each of its concern types; with a concern filter, only the chosen types
-- are counted. Every group is paired with every concern type seen, zero where it has no case.
-- Grade is not a parameter: the workforce has no grade.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per group and concern type: grp, concern, cases, cases_key, headcount, headcount_key
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns
-- Cases are first counted per distinct list of concern types (grouped by the list's 64-bit hash,
-- far cheaper than unnesting every case), then each list is unnested once.
WITH by_list AS (
    SELECT grp, hash(concern_types) AS list_hash, any_value(concern_types) AS types, count(*) AS cases,
        sum(record_key) AS cases_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY grp, list_hash
),
by_concern AS (
    SELECT grp, unnest(types) AS concern, cases, cases_key FROM by_list
),
referred AS (
    SELECT grp, concern, sum(cases) AS cases, sum(cases_key) AS cases_key
    FROM by_concern
    WHERE $concerns IS NULL OR list_contains($concerns, concern)
    GROUP BY grp, concern
),
at_risk AS (
    SELECT grp, sum(headcount) AS headcount, sum(record_key) AS headcount_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY grp
),
all_groups AS (SELECT grp FROM at_risk UNION SELECT grp FROM referred),
seen AS (SELECT DISTINCT concern FROM referred)
SELECT
    all_groups.grp,
    seen.concern,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(referred.cases_key, 0)::BIGINT AS cases_key,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount,
    coalesce(at_risk.headcount_key, 0)::BIGINT AS headcount_key
FROM all_groups
CROSS JOIN seen
LEFT JOIN referred ON referred.grp = all_groups.grp AND referred.concern = seen.concern
LEFT JOIN at_risk ON at_risk.grp = all_groups.grp
ORDER BY all_groups.grp, seen.concern
