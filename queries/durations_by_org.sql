-- Referral-to-closure times of each organisation's cases for each group of the chosen split, in whole
-- months (of 365.25 / 12 days) since referral, counted in bins of $bin_months months (each labelled by
-- its first month): open cases censored at the extract date (the extract_date() macro). Counted per
-- organisation, group, bin and status, so that every organisation's median and share still open can be
-- estimated from a few rows (the range across organisations), each count with its cell key (the sum of
-- its records' keys) for disclosure control.
-- Returns: one row per organisation, group, bin and status: org_code, grp, months, closed, n, n_key
-- Params: split, bin_months, fy_from, fy_to, professions, grades, regions, org_types, concerns
SELECT
    org_code,
    grp,
    (floor(greatest(coalesce(closure_date, extract_date()) - referral_date, 0) / (365.25 / 12))::INTEGER
        // $bin_months * $bin_months)::INTEGER AS months,
    closure_date IS NOT NULL AS closed,
    count(*)::BIGINT AS n,
    sum(record_key)::BIGINT AS n_key
FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, NULL, $concerns)
GROUP BY ALL
ORDER BY org_code, grp, months, closed
