-- The bench scripts' databases of their own: created when missing, kept otherwise. Run against
-- the maintenance database. Variables: -v db=<name>.
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
