-- Referral counts and practitioner headcount for each group of the chosen split over rolling
-- windows of $window financial years ending in each year ($window = 1: each year on its own). Only
-- windows wholly inside the filtered years are returned, so every figure covers $window full years.
-- Grade is not a parameter: the workforce has no grade.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Cases count only where their organisation has workforce rows for their financial year (covered_cases).
-- Returns: one row per group and window (by its last year): grp, fy_start, window_start, cases, cases_key, headcount, headcount_key
-- Params: split, fy_from, fy_to, professions, regions, org_types, orgs, concerns, window
WITH referred AS (
    SELECT grp, fy_start, count(*) AS cases, sum(record_key) AS cases_key
    FROM covered_cases($split, $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
    GROUP BY grp, fy_start
),
at_risk AS (
    SELECT grp, fy_start, sum(headcount) AS headcount, sum(record_key) AS headcount_key
    FROM filtered_workforce_groups($split, $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
    GROUP BY grp, fy_start
),
yearly AS (
    SELECT grp, fy_start, coalesce(referred.cases, 0) AS cases, coalesce(referred.cases_key, 0) AS cases_key,
        coalesce(at_risk.headcount, 0) AS headcount, coalesce(at_risk.headcount_key, 0) AS headcount_key
    FROM at_risk
    FULL OUTER JOIN referred USING (grp, fy_start)
),
windowed AS (
    SELECT
        grp,
        fy_start,
        fy_start - $window + 1 AS window_start,
        sum(cases) OVER recent AS cases,
        sum(cases_key) OVER recent AS cases_key,
        sum(headcount) OVER recent AS headcount,
        sum(headcount_key) OVER recent AS headcount_key
    FROM yearly
    WINDOW recent AS (PARTITION BY grp ORDER BY fy_start RANGE BETWEEN $window - 1 PRECEDING AND CURRENT ROW)
)
SELECT grp, fy_start::INTEGER AS fy_start, window_start::INTEGER AS window_start, cases::BIGINT AS cases,
    cases_key::BIGINT AS cases_key, headcount::BIGINT AS headcount, headcount_key::BIGINT AS headcount_key
FROM windowed
WHERE window_start >= (SELECT min(fy_start) FROM yearly)
ORDER BY grp, fy_start
