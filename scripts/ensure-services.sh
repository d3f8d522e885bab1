#!/usr/bin/env bash
# Make sure the local PostgreSQL and RabbitMQ the integration tests use are up (starts them if down).
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached
fi
rabbitmqctl -q await_startup --timeout 120
rabbitmqctl -q status >/dev/null && echo "RabbitMQ is up"
