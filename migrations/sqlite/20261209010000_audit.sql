-- The audit trail: one row per audited action, written in the transaction
-- of the change it records (a refused change: its own small transaction).
-- Indexed for the operators' filters, each newest first.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason      TEXT NOT NULL DEFAULT '',
    client_ip   TEXT NOT NULL DEFAULT '',
    geo_country TEXT NOT NULL DEFAULT '',
    geo_name    TEXT NOT NULL DEFAULT '',
    geo_city    TEXT NOT NULL DEFAULT '',
    geo_lat     REAL,
    geo_lon     REAL,
    request_id  TEXT NOT NULL DEFAULT '',
    trace_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_target ON audit_events (target, id);
CREATE INDEX audit_events_outcome ON audit_events (outcome, id);
