-- The routes cases took, for the pathway diagram: for each group of the chosen split, among cases
-- referred at least $followup_months months before the extract date (the extract_date() macro), the
-- number of cases on each route. A route is how the case entered the process (entry: 'informal' when it
-- had informal resolution and no formal investigation before it, 'formal_first' when a formal
-- investigation started with no informal resolution on or before it, 'none' when no stage is recorded),
-- the furthest interim stage (furthest: 'excluded' for exclusion or suspension, 'formal' for a formal
-- investigation without either, 'informal_only' otherwise), whether a disciplinary hearing was held
-- (heard), and the outcome of a closed case ('open' while open). From the case's stage_mask
-- (contract.STAGE_BITS) and formal_without_informal flag: counts only, each with its cell key (n_key: the
-- sum of its cases' record keys) for disclosure control.
-- Returns: one row per group and route: grp, entry, furthest, heard, outcome, n, n_key
-- Params: split, followup_months, fy_from, fy_to, professions, grades, regions, org_types, orgs, concerns
SELECT
    grp,
    CASE
        WHEN formal_without_informal THEN 'formal_first'
        WHEN stage_mask & 1 > 0 THEN 'informal'
        ELSE 'none'
    END AS entry,
    CASE WHEN stage_mask & 12 > 0 THEN 'excluded' WHEN stage_mask & 2 > 0 THEN 'formal' ELSE 'informal_only' END
        AS furthest,
    stage_mask & 256 > 0 AS heard,
    CASE WHEN closure_date IS NULL THEN 'open' ELSE outcome END AS outcome,
    count(*)::BIGINT AS n,
    sum(record_key)::BIGINT AS n_key
FROM filtered_cases($split, $fy_from, $fy_to, $professions, $grades, $regions, $org_types, $orgs, $concerns)
WHERE referral_date <= extract_date() - to_months($followup_months)
GROUP BY ALL
ORDER BY ALL
