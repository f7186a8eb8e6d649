-- Rows read, loaded and rejected per file at the last ingest.
-- Returns: one row per file of the export: file, rows_read, rows_loaded, rows_rejected
-- Params: none
SELECT file, rows_read, rows_loaded, rows_rejected
FROM load_summary
ORDER BY file
