-- Cases matching the filters by financial year: all of them, and those whose organisation has workforce rows for
-- the case's year (covered_cases). The others have no practitioners to count them against, so every rate query
-- leaves them out; the pages say how many. At the protected level that number is the difference of these two
-- counts once protected, never a count of its own (parity.measures.common.protect_coverage). Grade is not a
-- parameter, as for the rates.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Returns: one row per financial year with filtered cases: fy_start, cases, cases_key, covered, covered_key
-- Params: fy_from, fy_to, professions, regions, org_types, orgs, concerns
SELECT
    c.fy_start,
    count(*)::BIGINT AS cases,
    sum(c.record_key)::BIGINT AS cases_key,
    count(w.org_code)::BIGINT AS covered,
    sum(CASE WHEN w.org_code IS NULL THEN 0 ELSE c.record_key END)::BIGINT AS covered_key
FROM filtered_cases('ethnic_group', $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns) AS c
LEFT JOIN workforce_years AS w ON w.org_code = c.org_code AND w.fy_start = c.fy_start
GROUP BY c.fy_start
ORDER BY c.fy_start
