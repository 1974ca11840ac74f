"""CRM write-back: lifecycle stage, scores, MQL time and reason, SLA status on contacts."""
