-- Cases matching the filters whose organisation has no workforce rows for the case's financial year: no
-- practitioners to count them against, so every rate query leaves them out (covered_cases); the pages say how
-- many. Grade is not a parameter, as for the rates.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Returns: one row per financial year with such cases: fy_start, cases, cases_key
-- Params: fy_from, fy_to, professions, regions, org_types, orgs, concerns
SELECT fy_start, count(*)::BIGINT AS cases, sum(record_key)::BIGINT AS cases_key
FROM uncovered_cases('ethnic_group', $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, $concerns)
GROUP BY fy_start
ORDER BY fy_start
