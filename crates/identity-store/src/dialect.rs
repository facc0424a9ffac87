//! The few places where PostgreSQL and SQLite need different SQL text. Everything else is one
//! query for both (sqlx's SQLite driver accepts `$1` placeholders).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// How a writing transaction starts. SQLite must take its write lock up front: a deferred
    /// transaction that reads and then writes can fail with SQLITE_BUSY instead of waiting.
    pub(crate) const fn begin_write(self) -> &'static str {
        match self {
            Self::Postgres => "BEGIN",
            Self::Sqlite => "BEGIN IMMEDIATE",
        }
    }

    /// What each new connection runs first (after connecting: connection poolers such as
    /// PgBouncer refuse unknown startup parameters). PostgreSQL: a backend that has written
    /// 256 kB of the pages it evicts asks the kernel to write them out, as PostgreSQL's
    /// checkpointer does by default and backends do not. Otherwise they sit dirty in the page
    /// cache until the kernel writes hundreds of megabytes at once, and the commits' WAL flushes
    /// queue behind that: under SCIM creates it took the p99 from 7-8 ms to 10-18 ms
    /// (BENCHMARKS.md). SQLite's settings are pragmas, part of its connect options.
    pub(crate) const fn session_setup(self) -> Option<&'static str> {
        match self {
            Self::Postgres => Some("SET backend_flush_after = '256kB'"),
            Self::Sqlite => None,
        }
    }

    /// Whether a transaction's writes go to the server as one statement (`write::Batch`): on
    /// PostgreSQL every statement is a round trip; SQLite runs in the process.
    pub(crate) const fn merges_statements(self) -> bool {
        matches!(self, Self::Postgres)
    }

    /// Whether small writes are committed together by one writer task (`sql/commit.rs`).
    pub(crate) const fn combines_writes(self) -> bool {
        matches!(self, Self::Sqlite)
    }

    /// Locks the rows a read selects until the transaction ends. SQLite needs nothing: a
    /// writing transaction already holds the database's only write lock.
    pub(crate) const fn for_update(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE",
            Self::Sqlite => "",
        }
    }

    /// [`Dialect::for_update`] of the rows of one table of a join.
    pub(crate) fn for_update_of(self, table: &str) -> String {
        match self {
            Self::Postgres => format!(" FOR UPDATE OF {table}"),
            Self::Sqlite => String::new(),
        }
    }

    /// Whether a transaction can lock a row while another connection of this process writes
    /// elsewhere. SQLite has one writer: its writing transaction holds every row already.
    pub(crate) const fn locks_rows_apart(self) -> bool {
        matches!(self, Self::Postgres)
    }

    /// Claims queued rows without waiting on rows another worker holds.
    pub(crate) const fn for_update_skip_locked(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }

    /// A user's links as one JSON array of `[source, external_id]` pairs, so a person reads in
    /// one query. Unordered: the caller sorts them (an ORDER BY here cost a sort per read).
    pub(crate) fn links_json(self, user_id: &str) -> String {
        match self {
            Self::Postgres => format!(
                "(SELECT coalesce(json_agg(json_build_array(l.source, l.external_id)), '[]')::text FROM links l \
                 WHERE l.user_id = {user_id})"
            ),
            Self::Sqlite => format!(
                "(SELECT coalesce(json_group_array(json_array(l.source, l.external_id)), '[]') FROM links l \
                 WHERE l.user_id = {user_id})"
            ),
        }
    }

    /// The sequencer's statements, which number the change-log rows that became visible since
    /// the last run. PostgreSQL allocates ids before commit, so a slow transaction can make a row
    /// with a small id visible after rows with larger ids: one sequencer at a time (an advisory
    /// lock, per schema) hands out `seq` to committed rows only. On SQLite one writer at a time
    /// means rows become visible in id order, so the id is the sequence number. Both number at
    /// most 10,000 rows per transaction (the caller loops).
    ///
    /// `$1` is the horizon: every row written by an older transaction is numbered, so scans
    /// start there and skip the index entries that numbered rows leave behind until VACUUM. It
    /// is a transaction id on PostgreSQL; on SQLite, whose indexes keep no such entries, it
    /// stays 0 (and is compared with the id).
    pub(crate) const fn sequencer(self) -> Sequencer {
        match self {
            Self::Postgres => Sequencer {
                claim: Some("SELECT pg_advisory_xact_lock(7362201, hashtext(current_schema()))"),
                // The snapshot is the statement's, taken before the lock is granted: an older
                // snapshot only gives an older horizon, which is still true.
                lock: Some(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                     FROM (SELECT pg_advisory_xact_lock(7362201, hashtext(current_schema()))) AS locked",
                ),
                pending: "SELECT 1 FROM changes WHERE seq IS NULL AND xact_id >= $1::bigint::text::xid8 LIMIT 1",
                number: "UPDATE changes c SET seq = s.seq FROM (SELECT id, nextval('change_seq') AS seq FROM \
                         (SELECT id FROM changes WHERE seq IS NULL AND xact_id >= $1::bigint::text::xid8 \
                         ORDER BY id LIMIT 10000 FOR UPDATE) pending) s \
                         WHERE c.id = s.id",
            },
            // In batches too: one UPDATE of a million rows journals every page it changes in
            // memory (temp_store), and an import's memory would grow with its file.
            Self::Sqlite => Sequencer {
                claim: None,
                lock: None,
                pending: "SELECT 1 FROM changes WHERE seq IS NULL AND id >= $1 LIMIT 1",
                number: "UPDATE changes SET seq = id WHERE id IN \
                         (SELECT id FROM changes WHERE seq IS NULL AND id >= $1 ORDER BY id LIMIT 10000)",
            },
        }
    }

    /// ASCII case folding of a text expression. PostgreSQL's `lower()` follows the collation's
    /// locale and SQLite's folds ASCII only; forcing the "C" collation makes both fold ASCII
    /// only, so a filter matches the same rows on both. (Values that need Unicode folding, such
    /// as emails and user names, are stored with a key folded in Rust.)
    pub(crate) fn fold(self, expr: &str) -> String {
        match self {
            Self::Postgres => format!("lower(({expr}) COLLATE \"C\")"),
            Self::Sqlite => format!("lower({expr})"),
        }
    }

    /// A text expression that orders byte by byte, as SQLite's text does: PostgreSQL would order
    /// by the database's collation (often a language's), and a filter's `gt` or a sort would
    /// return other rows.
    pub(crate) fn bytewise(self, expr: &str) -> String {
        match self {
            Self::Postgres => format!("(({expr}) COLLATE \"C\")"),
            Self::Sqlite => expr.to_owned(),
        }
    }

    /// A JSON value at a path of a document, as text (`NULL` when absent). `path` is what
    /// [`Dialect::json_path`] returns.
    pub(crate) fn json_text(self, doc: &str, path: &str) -> String {
        match self {
            Self::Postgres => format!("({doc} #>> {path})"),
            Self::Sqlite => format!("json_extract({doc}, {path})"),
        }
    }

    /// A JSON number at a path, as a number.
    pub(crate) fn json_number(self, doc: &str, path: &str) -> String {
        match self {
            Self::Postgres => format!("({doc} #>> {path})::double precision"),
            Self::Sqlite => format!("CAST(json_extract({doc}, {path}) AS REAL)"),
        }
    }

    /// Whether a path is present and not JSON null (or an empty string or array, which SCIM
    /// also treats as unassigned).
    pub(crate) fn json_present(self, doc: &str, path: &str) -> String {
        match self {
            Self::Postgres => format!(
                "(jsonb_typeof({doc} #> {path}) IS NOT NULL AND jsonb_typeof({doc} #> {path}) <> 'null' \
                 AND ({doc} #> {path}) NOT IN ('\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb))"
            ),
            Self::Sqlite => format!(
                "(json_type({doc}, {path}) IS NOT NULL AND json_type({doc}, {path}) <> 'null' \
                 AND json_extract({doc}, {path}) <> '' \
                 AND NOT (json_type({doc}, {path}) = 'array' AND json_array_length({doc}, {path}) = 0))"
            ),
        }
    }

    /// A row source of the elements of a JSON array at a path, aliased `alias`; an absent or
    /// non-array value yields no rows. Element fields are read with [`Dialect::element_text`].
    pub(crate) fn json_elements(self, doc: &str, path: &str, alias: &str) -> String {
        match self {
            Self::Postgres => format!(
                "jsonb_array_elements(CASE WHEN jsonb_typeof({doc} #> {path}) = 'array' THEN {doc} #> {path} ELSE '[]'::jsonb END) AS {alias}(v)"
            ),
            Self::Sqlite => format!(
                "json_each(CASE WHEN json_type({doc}, {path}) = 'array' THEN json_extract({doc}, {path}) ELSE '[]' END) AS {alias}"
            ),
        }
    }

    /// The element itself as a JSON document, for the json_* helpers above.
    pub(crate) fn element_doc(self, alias: &str) -> String {
        match self {
            Self::Postgres => format!("{alias}.v"),
            Self::Sqlite => format!("{alias}.value"),
        }
    }

    /// A JSON path as an SQL literal, for the json_* helpers: a text array on PostgreSQL
    /// (`#>>`), a JSON path on SQLite (`json_extract`). Paths come from schema attribute names;
    /// anything but letters, digits and `:._-` is refused rather than escaped, so nothing a
    /// client sends can reach the SQL text. No segments means the document itself.
    pub(crate) fn json_path(self, segments: &[String]) -> Option<String> {
        let safe = |s: &String| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ":._-".contains(c));
        if !segments.iter().all(safe) {
            return None;
        }
        Some(match self {
            Self::Postgres => {
                let quoted: Vec<String> = segments.iter().map(|s| format!("\"{s}\"")).collect();
                format!("'{{{}}}'", quoted.join(","))
            }
            Self::Sqlite => {
                let quoted: String = segments.iter().map(|s| format!(".\"{s}\"")).collect();
                format!("'${quoted}'")
            }
        })
    }

    /// The function that finds a substring: `f(haystack, needle) > 0` when it occurs.
    /// Case-sensitive on both backends, unlike SQLite's `LIKE`.
    pub(crate) const fn position_fn(self) -> &'static str {
        match self {
            Self::Postgres => "strpos",
            Self::Sqlite => "instr",
        }
    }

    /// A JSON boolean at a path equals `value` (absent is neither).
    pub(crate) fn json_bool_is(self, doc: &str, path: &str, value: bool) -> String {
        match (self, value) {
            (Self::Postgres, true) => format!("({doc} #>> {path}) = 'true'"),
            (Self::Postgres, false) => format!("({doc} #>> {path}) = 'false'"),
            (Self::Sqlite, true) => format!("(json_type({doc}, {path}) = 'true')"),
            (Self::Sqlite, false) => format!("(json_type({doc}, {path}) = 'false')"),
        }
    }
}

/// See [`Dialect::sequencer`].
pub(crate) struct Sequencer {
    /// Taken by a transaction that numbers its own changes as it writes them (an import
    /// chunk's), instead of leaving them to the sequencer: the sequencer's lock, held until
    /// the commit, so rows are numbered in the order they become visible. `None` where the id is
    /// the number.
    pub claim: Option<&'static str>,
    /// Taken first in the numbering transaction, where one sequencer at a time must run; it
    /// answers the horizon the run may move to.
    pub lock: Option<&'static str>,
    /// Whether anything waits to be numbered, at or above the horizon (`$1`).
    pub pending: &'static str,
    /// Numbers up to 10,000 rows at or above the horizon (`$1`).
    pub number: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn json_paths_are_literals_of_safe_names_only() {
        let enterprise = segs(&["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department"]);
        assert_eq!(
            Dialect::Postgres.json_path(&enterprise).unwrap(),
            "'{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"department\"}'"
        );
        assert_eq!(
            Dialect::Sqlite.json_path(&enterprise).unwrap(),
            "'$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"department\"'"
        );
        assert_eq!(Dialect::Postgres.json_path(&[]).unwrap(), "'{}'");
        assert_eq!(Dialect::Sqlite.json_path(&[]).unwrap(), "'$'");
        for bad in [segs(&["a'b"]), segs(&["a\"b"]), segs(&["a b"]), segs(&[""])] {
            assert_eq!(Dialect::Postgres.json_path(&bad), None);
            assert_eq!(Dialect::Sqlite.json_path(&bad), None);
        }
    }
}
