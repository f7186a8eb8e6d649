-- The financial years present in cases or workforce, oldest first.
-- Each count comes with its cell key (the sum of its records' keys) for disclosure control.
-- Returns: one row per year: fy_start, financial_year, cases, cases_key, headcount, headcount_key
-- Params: none
WITH c AS (SELECT fy_start, count(*) AS cases, sum(record_key) AS cases_key FROM cases GROUP BY fy_start),
w AS (
    SELECT fy_start, sum(headcount) AS headcount, sum(record_key) AS headcount_key FROM workforce GROUP BY fy_start
)
SELECT
    fy_start,
    fy_start::VARCHAR || '/' || lpad(((fy_start + 1) % 100)::VARCHAR, 2, '0') AS financial_year,
    coalesce(c.cases, 0)::BIGINT AS cases,
    coalesce(c.cases_key, 0)::BIGINT AS cases_key,
    coalesce(w.headcount, 0)::BIGINT AS headcount,
    coalesce(w.headcount_key, 0)::BIGINT AS headcount_key
FROM w
FULL OUTER JOIN c USING (fy_start)
ORDER BY fy_start
