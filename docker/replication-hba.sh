#!/bin/bash
# Run once by the postgis image when it creates the primary's cluster: let the standby of
# compose.yaml replicate as the `truce` user (a superuser there) over the compose network.
set -e
echo "host replication truce all scram-sha-256" >> "$PGDATA/pg_hba.conf"
