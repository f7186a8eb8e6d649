-- Referral counts and practitioner headcount for each organisation, profession and group of the chosen
-- split, over the filtered financial years and places. An employer (scope_org set) sees only its own
-- organisation's name: every other organisation's org_name is NULL. Grade is not a parameter: the
-- workforce has no grade.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per organisation, profession and group present in cases or workforce: org_code, org_name, profession, grp, cases, cases_key, headcount, headcount_key
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns, scope_org
WITH referred AS (
    SELECT org_code, profession, grp, count(*) AS cases, sum(record_key) AS cases_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY org_code, profession, grp
),
at_risk AS (
    SELECT org_code, profession, grp, sum(headcount) AS headcount, sum(record_key) AS headcount_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY org_code, profession, grp
)
SELECT
    org_code,
    CASE WHEN $scope_org IS NULL OR org_code = $scope_org THEN organisations.org_name END AS org_name,
    profession,
    grp,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(referred.cases_key, 0)::BIGINT AS cases_key,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount,
    coalesce(at_risk.headcount_key, 0)::BIGINT AS headcount_key
FROM at_risk
FULL OUTER JOIN referred USING (org_code, profession, grp)
LEFT JOIN organisations USING (org_code)
ORDER BY org_code, profession, grp
