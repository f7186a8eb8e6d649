-- Organisations a viewer may pick; an employer's scope limits the list to its own organisation.
-- Returns: one row per organisation: org_code, org_name, org_type, region
-- Params: scope_org
SELECT org_code, org_name, org_type, region
FROM organisations
WHERE $scope_org IS NULL OR org_code = $scope_org
ORDER BY org_name, org_code
