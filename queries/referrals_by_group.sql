-- Referral counts and practitioner headcount for each group of the chosen split, over the filtered
-- financial years and places. Grade is not a parameter: the workforce has no grade.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per group present in cases or workforce: grp, cases, cases_key, headcount, headcount_key
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns
WITH referred AS (
    SELECT grp, count(*) AS cases, sum(record_key) AS cases_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY grp
),
at_risk AS (
    SELECT grp, sum(headcount) AS headcount, sum(record_key) AS headcount_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY grp
)
SELECT grp, coalesce(referred.cases, 0)::BIGINT AS cases, coalesce(referred.cases_key, 0)::BIGINT AS cases_key,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount, coalesce(at_risk.headcount_key, 0)::BIGINT AS headcount_key
FROM at_risk
FULL OUTER JOIN referred USING (grp)
ORDER BY grp
