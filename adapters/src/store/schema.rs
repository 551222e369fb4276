//! DDL of the store: the current resources, their version history and the search index
//! tables (token, string, date range, reference), per backend.

/// Statements creating the tables and indexes; `serial` is the backend's auto-increment
/// primary key column type.
fn ddl(serial: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS resources (rid {serial}, rtype TEXT NOT NULL, \
             id TEXT NOT NULL, version BIGINT NOT NULL, deleted BIGINT NOT NULL, \
             lu BIGINT NOT NULL, last_updated TEXT NOT NULL, body TEXT NOT NULL, \
             UNIQUE (rtype, id))"
        ),
        "CREATE INDEX IF NOT EXISTS resources_type_rid ON resources (rtype, rid)".into(),
        "CREATE INDEX IF NOT EXISTS resources_type_lu ON resources (rtype, lu)".into(),
        format!(
            "CREATE TABLE IF NOT EXISTS history (hid {serial}, rid BIGINT NOT NULL, \
             rtype TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL, \
             lu BIGINT NOT NULL, last_updated TEXT NOT NULL, method TEXT NOT NULL, body TEXT, \
             UNIQUE (rtype, id, version))"
        ),
        "CREATE INDEX IF NOT EXISTS history_type ON history (rtype, hid)".into(),
        "CREATE TABLE IF NOT EXISTS idx_token (rid BIGINT NOT NULL, param TEXT NOT NULL, \
         system TEXT NOT NULL, code TEXT NOT NULL)"
            .into(),
        "CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token (param, code, rid)".into(),
        "CREATE INDEX IF NOT EXISTS idx_token_rid ON idx_token (rid)".into(),
        "CREATE TABLE IF NOT EXISTS idx_string (rid BIGINT NOT NULL, param TEXT NOT NULL, \
         norm TEXT NOT NULL, raw TEXT NOT NULL)"
            .into(),
        "CREATE INDEX IF NOT EXISTS idx_string_norm ON idx_string (param, norm, rid)".into(),
        "CREATE INDEX IF NOT EXISTS idx_string_rid ON idx_string (rid)".into(),
        "CREATE TABLE IF NOT EXISTS idx_date (rid BIGINT NOT NULL, param TEXT NOT NULL, \
         lo BIGINT NOT NULL, hi BIGINT NOT NULL)"
            .into(),
        "CREATE INDEX IF NOT EXISTS idx_date_lo ON idx_date (param, lo, rid)".into(),
        "CREATE INDEX IF NOT EXISTS idx_date_rid ON idx_date (rid)".into(),
        "CREATE TABLE IF NOT EXISTS idx_ref (rid BIGINT NOT NULL, param TEXT NOT NULL, \
         ref_type TEXT NOT NULL, ref_id TEXT NOT NULL)"
            .into(),
        "CREATE INDEX IF NOT EXISTS idx_ref_target ON idx_ref (param, ref_id, rid)".into(),
        "CREATE INDEX IF NOT EXISTS idx_ref_rid ON idx_ref (rid)".into(),
    ]
}

/// SQLite DDL (`INTEGER PRIMARY KEY` is the rowid, so keyset paging walks the table order).
pub(crate) fn sqlite() -> Vec<String> {
    ddl("INTEGER PRIMARY KEY AUTOINCREMENT")
}

/// PostgreSQL DDL.
pub(crate) fn postgres() -> Vec<String> {
    ddl("BIGSERIAL PRIMARY KEY")
}
