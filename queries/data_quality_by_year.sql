-- Share of cases and of workforce headcount with ethnicity not stated or not known, or place of
-- qualification not known, by financial year: missing ethnicity can hide a gap.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Returns: one row per source and year: source, fy_start, total, total_key, ethnicity_not_stated, ethnicity_not_stated_key, ethnicity_not_known, ethnicity_not_known_key, pmq_not_known, pmq_not_known_key
-- Params: fy_from, fy_to, professions, regions, org_types, orgs
SELECT
    'cases' AS source,
    fy_start,
    count(*)::BIGINT AS total,
    sum(record_key)::BIGINT AS total_key,
    count(*) FILTER (WHERE ethnic_category = 'Z')::BIGINT AS ethnicity_not_stated,
    coalesce(sum(record_key) FILTER (WHERE ethnic_category = 'Z'), 0)::BIGINT AS ethnicity_not_stated_key,
    count(*) FILTER (WHERE ethnic_category = '99')::BIGINT AS ethnicity_not_known,
    coalesce(sum(record_key) FILTER (WHERE ethnic_category = '99'), 0)::BIGINT AS ethnicity_not_known_key,
    count(*) FILTER (WHERE pmq_region = 'not_known')::BIGINT AS pmq_not_known,
    coalesce(sum(record_key) FILTER (WHERE pmq_region = 'not_known'), 0)::BIGINT AS pmq_not_known_key
FROM filtered_cases('ethnic_group', $fy_from, $fy_to, $professions, NULL, $regions, $org_types, $orgs, NULL)
GROUP BY fy_start
UNION ALL
SELECT
    'workforce',
    fy_start,
    sum(headcount)::BIGINT,
    sum(record_key)::BIGINT,
    coalesce(sum(headcount) FILTER (WHERE ethnic_category = 'Z'), 0)::BIGINT,
    coalesce(sum(record_key) FILTER (WHERE ethnic_category = 'Z'), 0)::BIGINT,
    coalesce(sum(headcount) FILTER (WHERE ethnic_category = '99'), 0)::BIGINT,
    coalesce(sum(record_key) FILTER (WHERE ethnic_category = '99'), 0)::BIGINT,
    coalesce(sum(headcount) FILTER (WHERE pmq_region = 'not_known'), 0)::BIGINT,
    coalesce(sum(record_key) FILTER (WHERE pmq_region = 'not_known'), 0)::BIGINT
FROM filtered_workforce('ethnic_group', $fy_from, $fy_to, $professions, $regions, $org_types, $orgs)
GROUP BY fy_start
ORDER BY source, fy_start
