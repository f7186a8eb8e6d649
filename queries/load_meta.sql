-- Facts about the loaded export (extract date, source checksum, schema version).
-- Returns: one row per fact: key, value
-- Params: none
SELECT key, value
FROM meta
ORDER BY key
