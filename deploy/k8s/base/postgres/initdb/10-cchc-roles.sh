#!/bin/sh
# One login role per service, owning one schema of the same name and nothing else (database per service).
# Run by the postgres image once, when it initialises an empty data directory (/docker-entrypoint-initdb.d),
# as the superuser; to add the roles to an existing database run it by hand with the same variables
# (docs/operations.md). Idempotent. Needs: POSTGRES_USER, POSTGRES_DB, and for each service S in $CCHC_SERVICES
# DB_USER_<S> and DB_PASSWORD_<S> (upper case), which Kubernetes fills from the Secrets cchc-db-<service>.
set -eu

services="${CCHC_SERVICES:-dossiers scoring reports notifications}"
database="${POSTGRES_DB:?}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:?}" --dbname "$database" -v db="$database" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

for service in $services; do
    upper=$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')
    eval "user=\${DB_USER_${upper}:?DB_USER_${upper} is not set}"
    eval "password=\${DB_PASSWORD_${upper}:?DB_PASSWORD_${upper} is not set}"
    # shellcheck disable=SC2154  # user and password are set by eval above
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$database" \
        -v db="$database" -v role="$user" -v password="$password" -v schema="$service" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
ALTER ROLE :"role" SET search_path = :"schema";
GRANT CONNECT ON DATABASE :"db" TO :"role";
-- The services run `CREATE SCHEMA IF NOT EXISTS <own schema>` at start-up (shared/db.py), which PostgreSQL
-- checks against CREATE on the database even when the schema exists.
GRANT CREATE ON DATABASE :"db" TO :"role";
SQL
done
