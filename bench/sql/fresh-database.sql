-- scripts/bench-jobs.sh: the benchmark's own database, dropped and made afresh at every run (the
-- processes migrate it). Run against the maintenance database. Variables: -v db=<name>.
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
CREATE DATABASE :"db";
