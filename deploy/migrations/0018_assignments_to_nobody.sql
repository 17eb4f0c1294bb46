-- 0018 a handover that finds nobody free is a change of owner to nobody.
--
-- When an agent goes offline (or their shift ends, or they are made
-- inactive) and no colleague has room, their open conversations go back to
-- the queue. That is recorded in the assignment trail like every other
-- change of owner: a row with agent_id NULL (nobody), previous_agent_id the
-- agent who left, reason 6 (handover), the handover note, by_whom and
-- assigned_at. The gateway gets an assign command with an empty agent_id.
-- Whoever takes the conversation from the queue later gets the previous
-- owner and the note with it; after a restart routing finds both on the
-- latest row of a queued conversation's trail.
ALTER TABLE assignments ALTER COLUMN agent_id DROP NOT NULL;
-- Every row names someone: the new owner, or the one who no longer is.
-- Rows written before this migration all have an agent_id, so the check is
-- not run over them (NOT VALID: no scan of the trail under lock).
ALTER TABLE assignments ADD CONSTRAINT assignments_names_an_agent
    CHECK (agent_id IS NOT NULL OR previous_agent_id IS NOT NULL) NOT VALID;
