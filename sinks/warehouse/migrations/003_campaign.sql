-- First-touch campaign on MQLs, for win rates by campaign.
ALTER TABLE fact_mql ADD COLUMN IF NOT EXISTS campaign TEXT;

CREATE OR REPLACE VIEW v_funnel_by_campaign AS
SELECT COALESCE(m.campaign, '(none)') AS campaign,
       COUNT(DISTINCT m.contact_id) AS mqls,
       COUNT(DISTINCT sq.contact_id) AS sql,
       COUNT(DISTINCT op.contact_id) AS opportunity,
       COUNT(DISTINCT w.contact_id) AS won,
       ROUND(CAST(COUNT(DISTINCT sq.contact_id) AS NUMERIC) / NULLIF(COUNT(DISTINCT m.contact_id), 0), 4) AS mql_to_sql,
       ROUND(CAST(COUNT(DISTINCT w.contact_id) AS NUMERIC) / NULLIF(COUNT(DISTINCT op.contact_id), 0), 4) AS win_rate
FROM fact_mql m
LEFT JOIN v_stage_first sq ON sq.contact_id = m.contact_id AND sq.stage = 'sql'
LEFT JOIN v_stage_first op ON op.contact_id = m.contact_id AND op.stage = 'opportunity'
LEFT JOIN v_stage_first w ON w.contact_id = m.contact_id AND w.stage = 'won'
WHERE m.kind = 'contact'
GROUP BY COALESCE(m.campaign, '(none)');
