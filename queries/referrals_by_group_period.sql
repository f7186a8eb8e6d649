-- Referrals, practitioner headcount and two pathway stages for each group of the chosen split in each
-- period: a financial year ($period = 'year') or a quarter of one ($period = 'quarter'; Q1 is April to
-- June), by referral date. A quarter's headcount is its financial year's: the workforce export is
-- yearly, so a quarter's referrals are counted against everyone employed in that year. Stages are
-- among the period's cases: exclusion_or_suspension (either stage reached) and formal_without_informal
-- (a formal investigation with no informal resolution first), as in outcomes_by_group. Every period
-- of the filtered years appears for every group that has headcount or cases in any of them.
-- Grade is not a parameter: the workforce has no grade. Each count comes with its cell key (the sum of its
-- records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per period and group: fy_start, quarter, grp, cases, cases_key, headcount, headcount_key, exclusion_or_suspension, exclusion_or_suspension_key, formal_without_informal, formal_without_informal_key
-- Params: split, period, fy_from, fy_to, professions, regions, org_types, orgs, concerns
WITH referred AS (
    SELECT
        grp,
        fy_start,
        CASE WHEN $period = 'quarter' THEN (month(referral_date) + 8) % 12 // 3 + 1 ELSE 0 END AS quarter,
        count(*) AS cases,
        sum(record_key) AS cases_key,
        count(*) FILTER (WHERE stage_mask & 12 > 0) AS exclusion_or_suspension,
        coalesce(sum(record_key) FILTER (WHERE stage_mask & 12 > 0), 0) AS exclusion_or_suspension_key,
        count(*) FILTER (WHERE formal_without_informal) AS formal_without_informal,
        coalesce(sum(record_key) FILTER (WHERE formal_without_informal), 0) AS formal_without_informal_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY ALL
),
at_risk AS (
    SELECT grp, fy_start, sum(headcount) AS headcount, sum(record_key) AS headcount_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY ALL
),
years AS (
    SELECT DISTINCT fy_start FROM at_risk
    UNION
    SELECT DISTINCT fy_start FROM referred
),
quarters AS (
    SELECT unnest(CASE WHEN $period = 'quarter' THEN [1, 2, 3, 4] ELSE [0] END) AS quarter
),
groups AS (
    SELECT DISTINCT grp FROM at_risk
    UNION
    SELECT DISTINCT grp FROM referred
),
grid AS (
    SELECT fy_start, quarter, grp FROM years CROSS JOIN quarters CROSS JOIN groups
)
SELECT
    grid.fy_start::INTEGER AS fy_start,
    grid.quarter::INTEGER AS quarter,
    grid.grp,
    coalesce(referred.cases, 0)::BIGINT AS cases,
    coalesce(referred.cases_key, 0)::BIGINT AS cases_key,
    coalesce(at_risk.headcount, 0)::BIGINT AS headcount,
    coalesce(at_risk.headcount_key, 0)::BIGINT AS headcount_key,
    coalesce(referred.exclusion_or_suspension, 0)::BIGINT AS exclusion_or_suspension,
    coalesce(referred.exclusion_or_suspension_key, 0)::BIGINT AS exclusion_or_suspension_key,
    coalesce(referred.formal_without_informal, 0)::BIGINT AS formal_without_informal,
    coalesce(referred.formal_without_informal_key, 0)::BIGINT AS formal_without_informal_key
FROM grid
LEFT JOIN referred USING (fy_start, quarter, grp)
LEFT JOIN at_risk USING (fy_start, grp)
ORDER BY fy_start, quarter, grp
