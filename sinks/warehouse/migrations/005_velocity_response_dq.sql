-- Velocity with lead -> MQL, first response per rep and priority, disqualification by first touch
-- (issue 14). A negative step (the CRM moved a contact back) is counted in `negative`, not
-- dropped; medians are over the steps that are not negative.
ALTER TABLE fact_mql ADD COLUMN IF NOT EXISTS first_evidence_at TIMESTAMPTZ;
DROP VIEW IF EXISTS v_stage_velocity;
DROP VIEW IF EXISTS v_disqualification_reasons;
DROP VIEW IF EXISTS v_contact_mql;

-- A contact's first MQL carries its first-touch source and campaign.
CREATE VIEW v_contact_first_touch AS
SELECT contact_id, source, campaign, mql_at FROM v_mql_outcome WHERE mql_number = 1;

-- lead -> MQL runs from the first evidence of the contact's first MQL (the outputs carry no
-- contact creation time); the later steps run inside each MQL's cohort window.
CREATE VIEW v_stage_steps AS
SELECT o.cohort_month, 1 AS step, 'lead->mql' AS pair,
       EXTRACT(EPOCH FROM (o.mql_at - f.first_evidence_at)) / 3600.0 AS hours
FROM v_mql_outcome o JOIN fact_mql f ON f.mql_id = o.mql_id
WHERE o.mql_number = 1 AND f.first_evidence_at IS NOT NULL
UNION ALL
SELECT cohort_month, 2, 'mql->sal', EXTRACT(EPOCH FROM (sal_at - mql_at)) / 3600.0
FROM v_mql_outcome WHERE sal_at IS NOT NULL
UNION ALL
SELECT cohort_month, 3, 'sal->sql', EXTRACT(EPOCH FROM (sql_at - sal_at)) / 3600.0
FROM v_mql_outcome WHERE sal_at IS NOT NULL AND sql_at IS NOT NULL
UNION ALL
SELECT cohort_month, 4, 'sql->opportunity', EXTRACT(EPOCH FROM (opportunity_at - sql_at)) / 3600.0
FROM v_mql_outcome WHERE sql_at IS NOT NULL AND opportunity_at IS NOT NULL
UNION ALL
SELECT cohort_month, 5, 'opportunity->won', EXTRACT(EPOCH FROM (won_at - opportunity_at)) / 3600.0
FROM v_mql_outcome WHERE opportunity_at IS NOT NULL AND won_at IS NOT NULL;

CREATE VIEW v_stage_velocity AS
SELECT cohort_month, step, pair, COUNT(*) AS contacts,
       SUM(CASE WHEN hours < 0 THEN 1 ELSE 0 END) AS negative,
       ROUND(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN hours >= 0 THEN hours END) AS NUMERIC(18, 4)), 4)
           AS median_hours
FROM v_stage_steps GROUP BY cohort_month, step, pair;

-- Time to first response: one row per SLA (its met event carries response_seconds).
CREATE VIEW v_sla_response AS
SELECT sla_id, MIN(priority) AS priority, COALESCE(MIN(owner_id), '(unassigned)') AS owner_id,
       MIN(started_at) AS started_at, MAX(response_seconds) AS response_seconds
FROM fact_sla GROUP BY sla_id;

CREATE VIEW v_first_response AS
SELECT CAST(date_trunc('month', started_at AT TIME ZONE 'UTC') AS DATE) AS cohort_month, priority, owner_id,
       COUNT(*) AS slas, COUNT(response_seconds) AS responses,
       ROUND(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds / 60.0) AS NUMERIC), 2) AS median_minutes,
       ROUND(CAST(percentile_cont(0.9) WITHIN GROUP (ORDER BY response_seconds / 60.0) AS NUMERIC), 2) AS p90_minutes
FROM v_sla_response
GROUP BY CAST(date_trunc('month', started_at AT TIME ZONE 'UTC') AS DATE), priority, owner_id;

-- By the contact's first-touch source; '(no MQL)' when the contact never qualified (only MQLs
-- carry a source). Distinct contacts, and the transitions behind them.
CREATE VIEW v_disqualification_reasons AS
SELECT CAST(date_trunc('month', l.occurred_at AT TIME ZONE 'UTC') AS DATE) AS cohort_month,
       COALESCE(t.source, '(no MQL)') AS source, COALESCE(l.reason, '(none)') AS reason,
       COUNT(DISTINCT l.contact_id) AS contacts, COUNT(*) AS transitions
FROM fact_lifecycle l LEFT JOIN v_contact_first_touch t ON t.contact_id = l.contact_id
WHERE l.to_stage = 'disqualified'
GROUP BY CAST(date_trunc('month', l.occurred_at AT TIME ZONE 'UTC') AS DATE), COALESCE(t.source, '(no MQL)'),
         COALESCE(l.reason, '(none)');
