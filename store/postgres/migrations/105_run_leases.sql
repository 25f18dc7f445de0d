-- Run leases: the worker executing a managed run's attempt renews
-- lease_expires_at (unix micros) while it runs; a run still running whose
-- lease lapsed lost its worker, and another node takes it over as a new
-- attempt under a new River job (package runtime). NULL: no lease (queued,
-- or taken over and waiting for its new job).
ALTER TABLE managed_runs ADD COLUMN lease_expires_at BIGINT;
