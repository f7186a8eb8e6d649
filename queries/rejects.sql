-- Rows rejected at the last ingest, with where they were and why.
-- Returns: one row per rejected value: file, line, column, value, reason
-- Params: none
SELECT file, line, "column", value, reason
FROM rejects
ORDER BY file, line, "column"
