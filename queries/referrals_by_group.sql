-- Referral counts and practitioner headcount for each group of the chosen split, over the filtered
-- financial years and places. Grade is not a parameter: the workforce has no grade.
-- Returns: one row per group present in cases or workforce: grp, cases, headcount
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns
WITH referred AS (
    SELECT grp, count(*) AS cases
    FROM filtered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY grp
),
at_risk AS (
    SELECT grp, sum(headcount) AS headcount
    FROM filtered_workforce($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY grp
)
SELECT grp, coalesce(referred.cases, 0)::BIGINT AS cases, coalesce(at_risk.headcount, 0)::BIGINT AS headcount
FROM at_risk
FULL OUTER JOIN referred USING (grp)
ORDER BY grp
