-- Each organisation's cases for each group of the chosen split, and how many reached the stages the
-- organisation profile compares with national (stage bits as in outcomes_by_group.sql: exclusion 4 or
-- suspension 8, restriction 16, regulator_referral 128; formal_without_informal from ingest). The
-- organisation filter is not a parameter: the profile sets one organisation beside all of them.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Returns: one row per organisation and group with cases: org_code, grp, cases, cases_key, exclusion_or_suspension, exclusion_or_suspension_key, formal_without_informal, formal_without_informal_key, regulator_referral, regulator_referral_key, restriction, restriction_key
-- Params: split, fy_from, fy_to, professions, grades, regions, org_types, concerns
SELECT
    org_code,
    grp,
    count(*)::BIGINT AS cases,
    sum(record_key)::BIGINT AS cases_key,
    count_if(stage_mask & 12 > 0)::BIGINT AS exclusion_or_suspension,
    coalesce(sum(CASE WHEN stage_mask & 12 > 0 THEN record_key END), 0)::BIGINT AS exclusion_or_suspension_key,
    count_if(formal_without_informal)::BIGINT AS formal_without_informal,
    coalesce(sum(CASE WHEN formal_without_informal THEN record_key END), 0)::BIGINT AS formal_without_informal_key,
    count_if(stage_mask & 128 > 0)::BIGINT AS regulator_referral,
    coalesce(sum(CASE WHEN stage_mask & 128 > 0 THEN record_key END), 0)::BIGINT AS regulator_referral_key,
    count_if(stage_mask & 16 > 0)::BIGINT AS restriction,
    coalesce(sum(CASE WHEN stage_mask & 16 > 0 THEN record_key END), 0)::BIGINT AS restriction_key
FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, NULL, $concerns)
GROUP BY org_code, grp
ORDER BY org_code, grp
