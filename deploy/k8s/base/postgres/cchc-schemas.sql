-- One schema per service, owned by that service's role and nothing else (database per service), in the
-- application database `cchc`. CloudNativePG runs this once, as the superuser, when it initialises the cluster
-- (postgres/cluster.yaml, bootstrap.initdb.postInitApplicationSQLRefs); the roles' LOGIN and passwords come from
-- the Cluster's managed roles (Secrets cchc-db-<service>). Idempotent: to add a service to an existing cluster,
-- add it to `services` below and run the file again (`kubectl cnpg psql postgres -- -d cchc -f -`,
-- docs/operations.md), and add its managed role.
DO $$
DECLARE
    role_prefix constant text := 'cchc_';
    services constant text[] := ARRAY['dossiers', 'scoring', 'reports', 'notifications', 'intake', 'web'];
    service text;
    role text;
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    FOREACH service IN ARRAY services LOOP
        role := role_prefix || service;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
            -- NOLOGIN until the operator's managed role gives it LOGIN and the password from its Secret
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, role);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', service, role);
        EXECUTE format('ALTER ROLE %I SET search_path = %I', role, service);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role);
        -- The services run `CREATE SCHEMA IF NOT EXISTS <own schema>` only when it is missing (shared/db.py);
        -- CREATE on the database lets a service whose schema was dropped recreate it.
        EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', current_database(), role);
    END LOOP;
END
$$;
