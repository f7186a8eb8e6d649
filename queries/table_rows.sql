-- How many rows each table of the database holds.
-- Returns: one row per table: table_name, rows
-- Params: none
SELECT 'organisations' AS table_name, count(*) AS rows FROM organisations
UNION ALL SELECT 'workforce', count(*) FROM workforce
UNION ALL SELECT 'cases', count(*) FROM cases
UNION ALL SELECT 'case_events', count(*) FROM case_events
UNION ALL SELECT 'rejects', count(*) FROM rejects
