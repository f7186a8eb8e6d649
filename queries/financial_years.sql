-- The financial years present in cases or workforce, oldest first.
-- Returns: one row per year: fy_start, financial_year, cases, headcount
-- Params: none
WITH c AS (SELECT fy_start, count(*) AS cases FROM cases GROUP BY fy_start),
w AS (SELECT fy_start, sum(headcount) AS headcount FROM workforce GROUP BY fy_start)
SELECT
    fy_start,
    fy_start::VARCHAR || '/' || lpad(((fy_start + 1) % 100)::VARCHAR, 2, '0') AS financial_year,
    coalesce(c.cases, 0)::BIGINT AS cases,
    coalesce(w.headcount, 0)::BIGINT AS headcount
FROM w
FULL OUTER JOIN c USING (fy_start)
ORDER BY fy_start
