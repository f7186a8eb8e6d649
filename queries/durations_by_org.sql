-- Referral-to-closure times of each organisation's cases for each group of the chosen split, in whole
-- months (of 365.25 / 12 days) since referral, counted in bins of $bin_months months (each labelled by
-- its first month): open cases censored at the extract date (the extract_date() macro). Counted per
-- organisation, group, bin and status, so that every organisation's median and share still open can be
-- estimated from a few rows (the range across organisations), each count with its cell key (the sum of
-- its records' keys) for disclosure control.
-- With them, how many of those cases reached the stages the organisation profile compares with national
-- (stage bits as in outcomes_by_group.sql: exclusion 4 or suspension 8, restriction 16, regulator_referral 128;
-- formal_without_informal from ingest), each with its cell key: summed over bins and status they are each
-- organisation's counts by group for the profile's shares, from the same scan of the cases.
-- Returns: one row per organisation, group, bin and status: org_code, grp, months, closed, n, n_key, exclusion_or_suspension, exclusion_or_suspension_key, formal_without_informal, formal_without_informal_key, regulator_referral, regulator_referral_key, restriction, restriction_key
-- Params: split, bin_months, fy_from, fy_to, professions, grades, regions, org_types, concerns
SELECT
    org_code,
    grp,
    (floor(greatest(coalesce(closure_date, extract_date()) - referral_date, 0) / (365.25 / 12))::INTEGER
        // $bin_months * $bin_months)::INTEGER AS months,
    closure_date IS NOT NULL AS closed,
    count(*)::BIGINT AS n,
    sum(record_key)::BIGINT AS n_key,
    count_if(stage_mask & 12 > 0)::BIGINT AS exclusion_or_suspension,
    coalesce(sum(CASE WHEN stage_mask & 12 > 0 THEN record_key END), 0)::BIGINT AS exclusion_or_suspension_key,
    count_if(formal_without_informal)::BIGINT AS formal_without_informal,
    coalesce(sum(CASE WHEN formal_without_informal THEN record_key END), 0)::BIGINT AS formal_without_informal_key,
    count_if(stage_mask & 128 > 0)::BIGINT AS regulator_referral,
    coalesce(sum(CASE WHEN stage_mask & 128 > 0 THEN record_key END), 0)::BIGINT AS regulator_referral_key,
    count_if(stage_mask & 16 > 0)::BIGINT AS restriction,
    coalesce(sum(CASE WHEN stage_mask & 16 > 0 THEN record_key END), 0)::BIGINT AS restriction_key
FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, NULL, $concerns)
GROUP BY org_code, grp, months, closed
ORDER BY org_code, grp, months, closed
