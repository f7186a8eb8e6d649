-- Each organisation's cases for each group of the chosen split, and how many reached the stages the
-- organisation profile compares with national (stage bits as in outcomes_by_group.sql: exclusion 4 or
-- suspension 8, restriction 16, regulator_referral 128; formal_without_informal from ingest). The
-- organisation filter is not a parameter: the profile sets one organisation beside all of them.
-- Returns: one row per organisation and group with cases: org_code, grp, cases, exclusion_or_suspension, formal_without_informal, regulator_referral, restriction
-- Params: split, fy_from, fy_to, professions, grades, regions, org_types, concerns
SELECT
    org_code,
    grp,
    count(*)::BIGINT AS cases,
    count(*) FILTER (WHERE stage_mask & 12 > 0)::BIGINT AS exclusion_or_suspension,
    count(*) FILTER (WHERE formal_without_informal)::BIGINT AS formal_without_informal,
    count(*) FILTER (WHERE stage_mask & 128 > 0)::BIGINT AS regulator_referral,
    count(*) FILTER (WHERE stage_mask & 16 > 0)::BIGINT AS restriction
FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, NULL, $concerns)
GROUP BY org_code, grp
ORDER BY org_code, grp
