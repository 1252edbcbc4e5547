-- `jobs_live` (status, lease_expires_at over every job not yet ended) is covered by the sweeper's
-- indexes of 0004: `jobs_live_expires` has the same predicate and `jobs_leased` holds the leases.
-- It was one more index entry written by every submit and every claim's mark, which PostgreSQL
-- pays under the team's account lock (issue 13: a job wrote 18 index entries over its life;
-- index inserts were 19 % of PostgreSQL's CPU in the end-to-end benchmark).
DROP INDEX IF EXISTS jobs_live;
