-- Profiles that say what matters: topics/keywords, exclusions, industry, geography and
-- languages, read by the scorers. Added columns only: the CONTRACT columns stay as they are.
ALTER TABLE core.organizations ADD COLUMN IF NOT EXISTS not_a_fit VARCHAR[] DEFAULT [];
ALTER TABLE core.organizations ADD COLUMN IF NOT EXISTS industry VARCHAR;
ALTER TABLE core.organizations ADD COLUMN IF NOT EXISTS languages VARCHAR[] DEFAULT [];
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS keywords VARCHAR[] DEFAULT [];
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS topics VARCHAR[] DEFAULT [];
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS not_interested_in VARCHAR[] DEFAULT [];
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS industry VARCHAR;
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS geography VARCHAR;
ALTER TABLE core.crm_clients ADD COLUMN IF NOT EXISTS languages VARCHAR[] DEFAULT [];
