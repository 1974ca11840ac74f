-- Closed-loop reporting (seeds: funnel rates by source, velocity, SLA compliance, disqualification, hygiene).
CREATE OR REPLACE VIEW v_stage_first AS
SELECT contact_id, to_stage AS stage, MIN(occurred_at) AS reached_at
FROM fact_lifecycle GROUP BY contact_id, to_stage;

CREATE OR REPLACE VIEW v_contact_mql AS
SELECT contact_id, MIN(occurred_at) AS mql_at,
       MIN(COALESCE(source, '(none)')) AS source
FROM fact_mql WHERE kind = 'contact' GROUP BY contact_id;

CREATE OR REPLACE VIEW v_funnel_by_source AS
SELECT m.source,
       COUNT(*) AS mqls,
       COUNT(sal.contact_id) AS sal,
       COUNT(sq.contact_id) AS sql,
       COUNT(op.contact_id) AS opportunity,
       COUNT(w.contact_id) AS won,
       ROUND(CAST(COUNT(sal.contact_id) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sal,
       ROUND(CAST(COUNT(sq.contact_id) AS NUMERIC) / NULLIF(COUNT(sal.contact_id), 0), 4) AS sal_to_sql,
       ROUND(CAST(COUNT(op.contact_id) AS NUMERIC) / NULLIF(COUNT(sq.contact_id), 0), 4) AS sql_to_opportunity,
       ROUND(CAST(COUNT(w.contact_id) AS NUMERIC) / NULLIF(COUNT(op.contact_id), 0), 4) AS win_rate
FROM v_contact_mql m
LEFT JOIN v_stage_first sal ON sal.contact_id = m.contact_id AND sal.stage = 'sal'
LEFT JOIN v_stage_first sq ON sq.contact_id = m.contact_id AND sq.stage = 'sql'
LEFT JOIN v_stage_first op ON op.contact_id = m.contact_id AND op.stage = 'opportunity'
LEFT JOIN v_stage_first w ON w.contact_id = m.contact_id AND w.stage = 'won'
GROUP BY m.source;

CREATE OR REPLACE VIEW v_funnel AS
SELECT leads, mqls, sal, sql, opportunity, won,
       ROUND(CAST(mqls AS NUMERIC) / NULLIF(leads, 0), 4) AS lead_to_mql,
       ROUND(CAST(sal AS NUMERIC) / NULLIF(mqls, 0), 4) AS mql_to_sal,
       ROUND(CAST(sql AS NUMERIC) / NULLIF(sal, 0), 4) AS sal_to_sql,
       ROUND(CAST(opportunity AS NUMERIC) / NULLIF(sql, 0), 4) AS sql_to_opportunity,
       ROUND(CAST(won AS NUMERIC) / NULLIF(opportunity, 0), 4) AS win_rate
FROM (
    SELECT (SELECT COUNT(*) FROM contact_current) AS leads,
           (SELECT COUNT(*) FROM v_contact_mql) AS mqls,
           (SELECT COUNT(*) FROM v_stage_first WHERE stage = 'sal') AS sal,
           (SELECT COUNT(*) FROM v_stage_first WHERE stage = 'sql') AS sql,
           (SELECT COUNT(*) FROM v_stage_first WHERE stage = 'opportunity') AS opportunity,
           (SELECT COUNT(*) FROM v_stage_first WHERE stage = 'won') AS won
) counts;

CREATE OR REPLACE VIEW v_stage_velocity AS
SELECT pair, COUNT(*) AS contacts,
       ROUND(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS NUMERIC), 2) AS median_hours
FROM (
    SELECT 'mql->sal' AS pair, EXTRACT(EPOCH FROM (s.reached_at - m.mql_at)) / 3600.0 AS hours
    FROM v_contact_mql m JOIN v_stage_first s ON s.contact_id = m.contact_id AND s.stage = 'sal'
    UNION ALL
    SELECT 'sal->sql', EXTRACT(EPOCH FROM (b.reached_at - a.reached_at)) / 3600.0
    FROM v_stage_first a JOIN v_stage_first b ON a.contact_id = b.contact_id AND a.stage = 'sal' AND b.stage = 'sql'
    UNION ALL
    SELECT 'sql->opportunity', EXTRACT(EPOCH FROM (b.reached_at - a.reached_at)) / 3600.0
    FROM v_stage_first a JOIN v_stage_first b ON a.contact_id = b.contact_id AND a.stage = 'sql' AND b.stage = 'opportunity'
    UNION ALL
    SELECT 'opportunity->won', EXTRACT(EPOCH FROM (b.reached_at - a.reached_at)) / 3600.0
    FROM v_stage_first a JOIN v_stage_first b ON a.contact_id = b.contact_id AND a.stage = 'opportunity' AND b.stage = 'won'
) d
WHERE hours >= 0
GROUP BY pair;

CREATE OR REPLACE VIEW v_sla_outcome AS
SELECT sla_id, MIN(priority) AS priority, MIN(owner_id) AS owner_id,
       MAX(CASE WHEN status = 'met' THEN 1 ELSE 0 END) AS met,
       MAX(CASE WHEN status = 'breached' THEN 1 ELSE 0 END) AS breached,
       MAX(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       MAX(response_seconds) AS response_seconds
FROM fact_sla GROUP BY sla_id;

CREATE OR REPLACE VIEW v_sla_compliance AS
SELECT priority, COALESCE(owner_id, '(unassigned)') AS owner_id,
       COUNT(*) AS slas,
       SUM(CASE WHEN met = 1 AND breached = 0 THEN 1 ELSE 0 END) AS met_on_time,
       SUM(breached) AS breached,
       SUM(cancelled) AS cancelled,
       ROUND(CAST(SUM(CASE WHEN met = 1 AND breached = 0 THEN 1 ELSE 0 END) AS NUMERIC)
             / NULLIF(SUM(CASE WHEN met = 1 OR breached = 1 THEN 1 ELSE 0 END), 0), 4) AS compliance
FROM v_sla_outcome GROUP BY priority, COALESCE(owner_id, '(unassigned)');

CREATE OR REPLACE VIEW v_disqualification_reasons AS
SELECT COALESCE(m.source, '(none)') AS source, COALESCE(l.reason, '(none)') AS reason, COUNT(*) AS contacts
FROM fact_lifecycle l LEFT JOIN v_contact_mql m ON m.contact_id = l.contact_id
WHERE l.to_stage = 'disqualified'
GROUP BY COALESCE(m.source, '(none)'), COALESCE(l.reason, '(none)');

CREATE OR REPLACE VIEW v_data_hygiene AS
SELECT COUNT(*) AS contact_mqls,
       SUM(CASE WHEN source IS NULL OR source = '' THEN 1 ELSE 0 END) AS missing_source,
       SUM(CASE WHEN source IS NOT NULL AND source <> LOWER(TRIM(source)) THEN 1 ELSE 0 END) AS invalid_source
FROM fact_mql WHERE kind = 'contact';
