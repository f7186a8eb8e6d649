-- Referral counts and practitioner headcount by group of the chosen split crossed with every
-- characteristic recorded in both cases and workforce: the grouped cells the adjusted relative
-- likelihood is modelled on (parity.stats.regression). Ethnicity is crossed at ethnic-group level and
-- place of qualification by its code, whatever the split. Cells with cases but no headcount are
-- returned too, so that the model can count what it leaves out. Grade is not a parameter: the
-- workforce has no grade.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per non-empty cell: grp, ethnic_group, pmq_region, profession, age_band, gender, org_type, region, cases, headcount
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns
WITH referred AS (
    SELECT grp, ethnic_group, pmq_region, profession, age_band, gender, org_type, region, count(*) AS cases
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY ALL
),
at_risk AS (
    SELECT grp, ethnic_group, pmq_region, profession, age_band, gender, org_type, region, sum(headcount) AS headcount
    FROM filtered_workforce($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY ALL
)
SELECT
    grp, ethnic_group, pmq_region, profession, age_band, gender, org_type, region,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount
FROM at_risk
FULL OUTER JOIN referred USING (grp, ethnic_group, pmq_region, profession, age_band, gender, org_type, region)
ORDER BY ALL
