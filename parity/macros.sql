-- Table macros that ingest stores in every database, so that each query in queries/ filters and
-- groups rows the same way. List filters use list_contains rather than = ANY(...), which DuckDB plans
-- as a join per filter even when the list is NULL ("all"). The split picks a derived column by name
-- from a fixed list: an identifier never comes from input.

-- The label of a row's group under the chosen split; cases and workforce share these columns.
CREATE MACRO split_value(
    split, ethnic_group, ethnic_category_label, ethnic_minority, pmq_label, uk_graduate, ethnicity_pmq,
    gender_label, age_band_label
) AS CASE split
    WHEN 'ethnic_group' THEN ethnic_group
    WHEN 'ethnic_category' THEN ethnic_category_label
    WHEN 'ethnic_minority' THEN ethnic_minority
    WHEN 'pmq_region' THEN pmq_label
    WHEN 'uk_graduate' THEN uk_graduate
    WHEN 'ethnicity_pmq' THEN ethnicity_pmq
    WHEN 'gender' THEN gender_label
    WHEN 'age_band' THEN age_band_label
END;

CREATE MACRO split_label_cases(split) AS TABLE
SELECT
    *,
    split_value(split, ethnic_group, ethnic_category_label, ethnic_minority, pmq_label, uk_graduate,
                ethnicity_pmq, gender_label, age_band_label) AS grp
FROM cases;

CREATE MACRO split_label_workforce(split) AS TABLE
SELECT
    *,
    split_value(split, ethnic_group, ethnic_category_label, ethnic_minority, pmq_label, uk_graduate,
                ethnicity_pmq, gender_label, age_band_label) AS grp
FROM workforce;

-- Cases that match the global filters, with the chosen split's label as grp.
CREATE MACRO filtered_cases(split, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns) AS TABLE
SELECT *
FROM split_label_cases(split)
WHERE (fy_from IS NULL OR fy_start >= fy_from)
  AND (fy_to IS NULL OR fy_start <= fy_to)
  AND (professions IS NULL OR list_contains(professions, profession))
  AND (grades IS NULL OR list_contains(grades, grade))
  AND (regions IS NULL OR list_contains(regions, region))
  AND (org_types IS NULL OR list_contains(org_types, org_type))
  AND (orgs IS NULL OR list_contains(orgs, org_code))
  AND (concerns IS NULL OR list_has_any(concern_types, concerns));

-- Two small tables derived from the workforce when the database is written, so that a rate does not scan every
-- workforce cell (about 5 million at 1,500 organisations) to count its practitioners. IF NOT EXISTS: a Parquet
-- catalog (parity.ingest.parquet) already serves them, as views over their own files.
-- The (organisation, financial year) pairs that have workforce rows: what covered_cases joins on.
CREATE TABLE IF NOT EXISTS workforce_years AS
SELECT DISTINCT org_code, fy_start FROM workforce ORDER BY org_code, fy_start;

-- Headcount and its cell key summed by each split's group within organisation, profession and financial year:
-- every query that counts practitioners by group alone (not by cell) reads this instead of the workforce. The
-- splits are contract.SPLITS (a test checks); stored in split order, so a query reads one split's rows.
CREATE TABLE IF NOT EXISTS workforce_groups AS
SELECT
    s.by_split,
    w.org_code,
    w.fy_start,
    w.profession,
    w.region,
    w.org_type,
    split_value(s.by_split, w.ethnic_group, w.ethnic_category_label, w.ethnic_minority, w.pmq_label, w.uk_graduate,
                w.ethnicity_pmq, w.gender_label, w.age_band_label) AS grp,
    sum(w.headcount)::BIGINT AS headcount,
    sum(w.record_key)::BIGINT AS record_key
FROM workforce AS w
CROSS JOIN unnest(['ethnic_group', 'ethnic_category', 'ethnic_minority', 'pmq_region', 'uk_graduate',
                   'ethnicity_pmq', 'gender', 'age_band']) AS s(by_split)
GROUP BY ALL
ORDER BY ALL;

-- The filtered cases a rate can count: those whose organisation has workforce rows for the case's financial
-- year. A case without them has no practitioners to be counted against; the rate queries leave it out, and
-- uncovered_cases_by_year counts it (the pages say how many). A semi join on the distinct (organisation, year)
-- pairs (workforce_years): a correlated EXISTS over every workforce cell cost twice as long.
CREATE MACRO covered_cases(split, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns) AS TABLE
SELECT *
FROM filtered_cases(split, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns) AS c
SEMI JOIN workforce_years AS w ON w.org_code = c.org_code AND w.fy_start = c.fy_start;

-- The other filtered cases: no workforce rows for their organisation and financial year.
CREATE MACRO uncovered_cases(split, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns) AS TABLE
SELECT *
FROM filtered_cases(split, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns) AS c
ANTI JOIN workforce_years AS w ON w.org_code = c.org_code AND w.fy_start = c.fy_start;

-- Workforce cells that match the global filters (the workforce has no grade or concern type).
CREATE MACRO filtered_workforce(split, fy_from, fy_to, professions, regions, org_types, orgs) AS TABLE
SELECT *
FROM split_label_workforce(split)
WHERE (fy_from IS NULL OR fy_start >= fy_from)
  AND (fy_to IS NULL OR fy_start <= fy_to)
  AND (professions IS NULL OR list_contains(professions, profession))
  AND (regions IS NULL OR list_contains(regions, region))
  AND (org_types IS NULL OR list_contains(org_types, org_type))
  AND (orgs IS NULL OR list_contains(orgs, org_code));

-- Headcount by group of the chosen split (workforce_groups) that matches the global filters: the same sums as
-- filtered_workforce's cells grouped by grp, organisation, profession, financial year, region or organisation type.
CREATE MACRO filtered_workforce_groups(split, fy_from, fy_to, professions, regions, org_types, orgs) AS TABLE
SELECT * EXCLUDE (by_split)
FROM workforce_groups
WHERE by_split = split
  AND (fy_from IS NULL OR fy_start >= fy_from)
  AND (fy_to IS NULL OR fy_start <= fy_to)
  AND (professions IS NULL OR list_contains(professions, profession))
  AND (regions IS NULL OR list_contains(regions, region))
  AND (org_types IS NULL OR list_contains(org_types, org_type))
  AND (orgs IS NULL OR list_contains(orgs, org_code));

-- The date open cases and ongoing episodes are censored at (ingest records it in meta).
CREATE MACRO extract_date() AS (SELECT TRY_CAST(value AS DATE) FROM meta WHERE key = 'extract_date');
