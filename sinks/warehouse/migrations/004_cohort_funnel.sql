-- Cohort-correct funnel (issue 14): every rate is "of the MQLs of a month, how many later reached
-- the stage", so SALs that never were MQLs no longer inflate MQL -> SAL. A stage counts for an
-- MQL when the contact reached it at or after that MQL and before the contact's next MQL (a
-- recycled contact that qualifies again starts a new cohort row). Stages run sal -> sql ->
-- opportunity -> won; reaching a later one counts for the earlier ones too (a contact moved
-- straight to sql was accepted by sales), so no step rate exceeds 100 %. Months are UTC.
DROP VIEW IF EXISTS v_funnel;
DROP VIEW IF EXISTS v_funnel_by_source;
DROP VIEW IF EXISTS v_funnel_by_campaign;
DROP VIEW IF EXISTS v_disqualification_reasons;
DROP VIEW IF EXISTS v_stage_velocity;
DROP VIEW IF EXISTS v_contact_mql;

-- One row per contact MQL, with the next MQL of the same contact (the end of its cohort window).
CREATE VIEW v_mql_window AS
SELECT mql_id, contact_id, account_id, occurred_at AS mql_at, source, campaign, priority,
       ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY occurred_at, mql_id) AS mql_number,
       LEAD(occurred_at) OVER (PARTITION BY contact_id ORDER BY occurred_at, mql_id) AS next_mql_at
FROM fact_mql WHERE kind = 'contact' AND contact_id IS NOT NULL;

-- Per contact MQL: when each later stage was first reached inside its cohort window.
CREATE VIEW v_mql_stages AS
SELECT m.mql_id, m.contact_id, m.account_id, m.mql_at, m.mql_number, m.priority,
       CAST(date_trunc('month', m.mql_at AT TIME ZONE 'UTC') AS DATE) AS cohort_month,
       COALESCE(m.source, '(none)') AS source, COALESCE(m.campaign, '(none)') AS campaign,
       MIN(CASE WHEN l.to_stage = 'sal' THEN l.occurred_at END) AS sal_at,
       MIN(CASE WHEN l.to_stage = 'sql' THEN l.occurred_at END) AS sql_at,
       MIN(CASE WHEN l.to_stage = 'opportunity' THEN l.occurred_at END) AS opportunity_at,
       MIN(CASE WHEN l.to_stage = 'won' THEN l.occurred_at END) AS won_at
FROM v_mql_window m
LEFT JOIN fact_lifecycle l ON l.contact_id = m.contact_id AND l.occurred_at >= m.mql_at
     AND (m.next_mql_at IS NULL OR l.occurred_at < m.next_mql_at)
GROUP BY m.mql_id, m.contact_id, m.account_id, m.mql_at, m.mql_number, m.priority, m.source, m.campaign;

-- 1/0 flags: reached the stage or a later one.
CREATE VIEW v_mql_outcome AS
SELECT s.*,
       CASE WHEN COALESCE(sal_at, sql_at, opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_sal,
       CASE WHEN COALESCE(sql_at, opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_sql,
       CASE WHEN COALESCE(opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_opportunity,
       CASE WHEN won_at IS NULL THEN 0 ELSE 1 END AS reached_won
FROM v_mql_stages s;

CREATE VIEW v_funnel_by_month AS
SELECT cohort_month, COUNT(*) AS mqls,
       SUM(reached_sal) AS sal, SUM(reached_sql) AS sql,
       SUM(reached_opportunity) AS opportunity, SUM(reached_won) AS won,
       ROUND(CAST(SUM(reached_sal) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sal,
       ROUND(CAST(SUM(reached_sql) AS NUMERIC) / NULLIF(SUM(reached_sal), 0), 4) AS sal_to_sql,
       ROUND(CAST(SUM(reached_opportunity) AS NUMERIC) / NULLIF(SUM(reached_sql), 0), 4) AS sql_to_opportunity,
       ROUND(CAST(SUM(reached_won) AS NUMERIC) / NULLIF(SUM(reached_opportunity), 0), 4) AS win_rate,
       ROUND(CAST(SUM(reached_won) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_won
FROM v_mql_outcome GROUP BY cohort_month;

-- All time: leads are the contacts the warehouse knows; lead -> MQL counts contacts, the later
-- rates are over the MQL cohort (all months together).
CREATE VIEW v_funnel AS
SELECT leads, mqls, sal, sql, opportunity, won,
       ROUND(CAST(mql_contacts AS NUMERIC) / NULLIF(leads, 0), 4) AS lead_to_mql,
       ROUND(CAST(sal AS NUMERIC) / NULLIF(mqls, 0), 4) AS mql_to_sal,
       ROUND(CAST(sql AS NUMERIC) / NULLIF(sal, 0), 4) AS sal_to_sql,
       ROUND(CAST(opportunity AS NUMERIC) / NULLIF(sql, 0), 4) AS sql_to_opportunity,
       ROUND(CAST(won AS NUMERIC) / NULLIF(opportunity, 0), 4) AS win_rate,
       mql_contacts
FROM (
    SELECT (SELECT COUNT(*) FROM contact_current) AS leads,
           (SELECT COUNT(DISTINCT contact_id) FROM v_mql_outcome) AS mql_contacts,
           COUNT(*) AS mqls,
           COALESCE(SUM(reached_sal), 0) AS sal, COALESCE(SUM(reached_sql), 0) AS sql,
           COALESCE(SUM(reached_opportunity), 0) AS opportunity, COALESCE(SUM(reached_won), 0) AS won
    FROM v_mql_outcome
) counts;

CREATE VIEW v_funnel_by_source AS
SELECT cohort_month, source, COUNT(*) AS mqls,
       SUM(reached_sal) AS sal, SUM(reached_sql) AS sql,
       SUM(reached_opportunity) AS opportunity, SUM(reached_won) AS won,
       ROUND(CAST(SUM(reached_sal) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sal,
       ROUND(CAST(SUM(reached_sql) AS NUMERIC) / NULLIF(SUM(reached_sal), 0), 4) AS sal_to_sql,
       ROUND(CAST(SUM(reached_opportunity) AS NUMERIC) / NULLIF(SUM(reached_sql), 0), 4) AS sql_to_opportunity,
       ROUND(CAST(SUM(reached_won) AS NUMERIC) / NULLIF(SUM(reached_opportunity), 0), 4) AS win_rate
FROM v_mql_outcome GROUP BY cohort_month, source;

CREATE VIEW v_funnel_by_campaign AS
SELECT cohort_month, campaign, COUNT(*) AS mqls,
       SUM(reached_sal) AS sal, SUM(reached_sql) AS sql,
       SUM(reached_opportunity) AS opportunity, SUM(reached_won) AS won,
       ROUND(CAST(SUM(reached_sql) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sql,
       ROUND(CAST(SUM(reached_won) AS NUMERIC) / NULLIF(SUM(reached_opportunity), 0), 4) AS win_rate
FROM v_mql_outcome GROUP BY cohort_month, campaign;

-- Account MQLs (buying committees): of the account MQLs of a month, how many accounts had a
-- contact reach each stage after the account MQL and before the account's next one.
CREATE VIEW v_account_mql_window AS
SELECT mql_id, account_id, occurred_at AS mql_at,
       LEAD(occurred_at) OVER (PARTITION BY account_id ORDER BY occurred_at, mql_id) AS next_mql_at
FROM fact_mql WHERE kind = 'account' AND account_id IS NOT NULL;

CREATE VIEW v_account_mql_outcome AS
SELECT mql_id, account_id, mql_at, cohort_month,
       CASE WHEN COALESCE(sal_at, sql_at, opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_sal,
       CASE WHEN COALESCE(sql_at, opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_sql,
       CASE WHEN COALESCE(opportunity_at, won_at) IS NULL THEN 0 ELSE 1 END AS reached_opportunity,
       CASE WHEN won_at IS NULL THEN 0 ELSE 1 END AS reached_won
FROM (
    SELECT m.mql_id, m.account_id, m.mql_at,
           CAST(date_trunc('month', m.mql_at AT TIME ZONE 'UTC') AS DATE) AS cohort_month,
           MIN(CASE WHEN l.to_stage = 'sal' THEN l.occurred_at END) AS sal_at,
           MIN(CASE WHEN l.to_stage = 'sql' THEN l.occurred_at END) AS sql_at,
           MIN(CASE WHEN l.to_stage = 'opportunity' THEN l.occurred_at END) AS opportunity_at,
           MIN(CASE WHEN l.to_stage = 'won' THEN l.occurred_at END) AS won_at
    FROM v_account_mql_window m
    LEFT JOIN fact_lifecycle l ON l.account_id = m.account_id AND l.occurred_at >= m.mql_at
         AND (m.next_mql_at IS NULL OR l.occurred_at < m.next_mql_at)
    GROUP BY m.mql_id, m.account_id, m.mql_at
) s;

CREATE VIEW v_account_funnel_by_month AS
SELECT cohort_month, COUNT(*) AS account_mqls,
       SUM(reached_sal) AS sal, SUM(reached_sql) AS sql,
       SUM(reached_opportunity) AS opportunity, SUM(reached_won) AS won,
       ROUND(CAST(SUM(reached_sal) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sal,
       ROUND(CAST(SUM(reached_sql) AS NUMERIC) / NULLIF(COUNT(*), 0), 4) AS mql_to_sql,
       ROUND(CAST(SUM(reached_won) AS NUMERIC) / NULLIF(SUM(reached_opportunity), 0), 4) AS win_rate
FROM v_account_mql_outcome GROUP BY cohort_month;

-- Kept from 002 until 005 replaces them: the same shapes on the cohort rows.
CREATE VIEW v_contact_mql AS
SELECT contact_id, MIN(mql_at) AS mql_at, MIN(source) AS source
FROM v_mql_outcome WHERE mql_number = 1 GROUP BY contact_id;

CREATE VIEW v_stage_velocity AS
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

CREATE VIEW v_disqualification_reasons AS
SELECT COALESCE(m.source, '(none)') AS source, COALESCE(l.reason, '(none)') AS reason, COUNT(*) AS contacts
FROM fact_lifecycle l LEFT JOIN v_contact_mql m ON m.contact_id = l.contact_id
WHERE l.to_stage = 'disqualified'
GROUP BY COALESCE(m.source, '(none)'), COALESCE(l.reason, '(none)');
