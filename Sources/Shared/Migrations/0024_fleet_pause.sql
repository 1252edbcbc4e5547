-- The fleet-wide pause of claiming (POST /api/admin/queue/pause), kept with the rest of the
-- truth. Redis holds it too, for the claim script to read, but lost it with its data, which
-- silently resumed a paused fleet; the sweeper now sets Redis from this row. One row at most.
CREATE TABLE fleet_pause (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    paused    boolean NOT NULL,
    since     timestamptz NOT NULL DEFAULT now()
);
