//! The log stores' schema migrations, apart from any database: a migration file and its
//! checksum, and what a set of known migrations and the rows a database recorded say together
//! (each migration's state, what is pending, whether an applied migration is unknown or
//! changed). The Postgres and ClickHouse stores read and write their own migrations tables and
//! share this model, so `outpost migrate` lists both the same way.

use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Version (the numeric prefix of the file name).
    pub version: i64,
    /// File name, e.g. `0001_init.sql`.
    pub file: &'static str,
    /// The SQL (a template on stores that fill in names).
    pub sql: &'static str,
}

impl Migration {
    /// Name without version prefix and extension, e.g. `init`.
    pub fn name(&self) -> &'static str {
        let stem = self.file.strip_suffix(".sql").unwrap_or(self.file);
        stem.split_once('_').map_or(stem, |(_, n)| n)
    }

    /// SHA-256 (hex) of the SQL with `\r\n` normalised to `\n`.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.replace("\r\n", "\n").as_bytes()))
    }
}

/// State of one migration in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Not applied yet.
    Pending,
    /// Applied.
    Applied {
        /// When (first recorded).
        applied_at: Timestamp,
        /// Whether the recorded checksum matches the embedded file.
        checksum_matches: bool,
    },
    /// Recorded in the database but unknown to this binary (a newer version applied it).
    Unknown {
        /// When.
        applied_at: Timestamp,
    },
}

impl MigrationState {
    /// How `outpost migrate list` shows it: `pending`, `applied <time>` (with a warning when
    /// the file changed since) or `applied <time> (unknown to this version)`.
    pub fn describe(&self) -> String {
        let at = crate::time::format_rfc3339_secs;
        match self {
            Self::Pending => "pending".into(),
            Self::Applied {
                applied_at,
                checksum_matches: true,
            } => format!("applied {}", at(applied_at)),
            Self::Applied {
                applied_at,
                checksum_matches: false,
            } => format!("applied {} (CHECKSUM DIFFERS)", at(applied_at)),
            Self::Unknown { applied_at } => {
                format!("applied {} (unknown to this version)", at(applied_at))
            }
        }
    }
}

/// A migration and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    /// Version.
    pub version: i64,
    /// Name (for unknown migrations: the name recorded in the database).
    pub name: String,
    /// Checksum of the embedded file (for unknown migrations: the recorded one).
    pub checksum: String,
    /// State in the database.
    pub state: MigrationState,
}

/// A migration as a database recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Recorded name.
    pub name: String,
    /// Checksum of the file when it was applied.
    pub checksum: String,
    /// When it was applied.
    pub applied_at: Timestamp,
}

/// An applied migration that the known ones do not account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Applied, but unknown to this binary (a newer version applied it).
    Unknown {
        /// Version.
        version: i64,
        /// Recorded name.
        name: String,
    },
    /// Its file changed since it was applied.
    Drift {
        /// Version.
        version: i64,
        /// File name.
        file: &'static str,
        /// Checksum recorded when it was applied.
        recorded: String,
        /// Checksum of the embedded file.
        expected: String,
    },
}

/// Every known migration (in version order) with its state, then any recorded migration
/// that is not known, all in version order.
pub fn list(known: &[Migration], mut recorded: BTreeMap<i64, Recorded>) -> Vec<MigrationInfo> {
    let mut out = Vec::new();
    for m in known {
        let checksum = m.checksum();
        let state = match recorded.remove(&m.version) {
            None => MigrationState::Pending,
            Some(r) => MigrationState::Applied {
                applied_at: r.applied_at,
                checksum_matches: r.checksum == checksum,
            },
        };
        out.push(MigrationInfo {
            version: m.version,
            name: m.name().to_string(),
            checksum,
            state,
        });
    }
    out.extend(recorded.into_iter().map(|(version, r)| MigrationInfo {
        version,
        name: r.name,
        checksum: r.checksum,
        state: MigrationState::Unknown {
            applied_at: r.applied_at,
        },
    }));
    out.sort_by_key(|i| i.version);
    out
}

/// The known migrations not recorded yet, in order.
pub fn pending(known: &[Migration], recorded: &BTreeMap<i64, Recorded>) -> Vec<Migration> {
    known
        .iter()
        .filter(|m| !recorded.contains_key(&m.version))
        .copied()
        .collect()
}

/// Checks that every recorded migration is known and unchanged; the error names the first
/// (lowest version) that is not.
pub fn check(known: &[Migration], recorded: &BTreeMap<i64, Recorded>) -> Result<(), Mismatch> {
    for (version, r) in recorded {
        let Some(m) = known.iter().find(|m| m.version == *version) else {
            return Err(Mismatch::Unknown {
                version: *version,
                name: r.name.clone(),
            });
        };
        let expected = m.checksum();
        if r.checksum != expected {
            return Err(Mismatch::Drift {
                version: m.version,
                file: m.file,
                recorded: r.checksum.clone(),
                expected,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::from_unix_ms;

    const A: Migration = Migration {
        version: 1,
        file: "0001_init.sql",
        sql: "SELECT 1;\nSELECT 2;\n",
    };
    const B: Migration = Migration {
        version: 2,
        file: "0002_more_things.sql",
        sql: "SELECT 3;\n",
    };

    fn rec(m: &Migration, checksum: Option<&str>) -> Recorded {
        Recorded {
            name: m.name().into(),
            checksum: checksum.map_or_else(|| m.checksum(), String::from),
            applied_at: from_unix_ms(1_000),
        }
    }

    #[test]
    fn names_and_checksums() {
        assert_eq!(A.name(), "init");
        assert_eq!(B.name(), "more_things");
        assert_eq!(A.checksum().len(), 64);
        let crlf = Migration {
            sql: "SELECT 1;\r\nSELECT 2;\r\n",
            ..A
        };
        assert_eq!(A.checksum(), crlf.checksum(), "CRLF does not change it");
        assert_ne!(A.checksum(), B.checksum());
    }

    #[test]
    fn list_pending_and_check_agree_on_a_database() {
        let known = [A, B];
        let none = BTreeMap::new();
        assert_eq!(pending(&known, &none), known);
        assert!(
            list(&known, none.clone())
                .iter()
                .all(|i| i.state == MigrationState::Pending)
        );
        assert_eq!(check(&known, &none), Ok(()));

        let newer = Migration {
            version: 7,
            file: "0007_future.sql",
            sql: "SELECT 7;",
        };
        let recorded: BTreeMap<i64, Recorded> =
            [(1, rec(&A, Some("old"))), (7, rec(&newer, None))].into();
        assert_eq!(pending(&known, &recorded), [B]);
        let listed = list(&known, recorded.clone());
        let states: Vec<(i64, &str, String)> = listed
            .iter()
            .map(|i| (i.version, i.name.as_str(), i.state.describe()))
            .collect();
        assert_eq!(
            states,
            [
                (
                    1,
                    "init",
                    "applied 1970-01-01T00:00:01Z (CHECKSUM DIFFERS)".to_string()
                ),
                (2, "more_things", "pending".to_string()),
                (
                    7,
                    "future",
                    "applied 1970-01-01T00:00:01Z (unknown to this version)".to_string()
                ),
            ]
        );
        assert_eq!(
            check(&known, &recorded),
            Err(Mismatch::Drift {
                version: 1,
                file: "0001_init.sql",
                recorded: "old".into(),
                expected: A.checksum(),
            })
        );
        let only_newer: BTreeMap<i64, Recorded> =
            [(1, rec(&A, None)), (7, rec(&newer, None))].into();
        assert_eq!(
            check(&known, &only_newer),
            Err(Mismatch::Unknown {
                version: 7,
                name: "future".into()
            })
        );
        assert_eq!(
            list(&known, [(1, rec(&A, None))].into())[0].state,
            MigrationState::Applied {
                applied_at: from_unix_ms(1_000),
                checksum_matches: true
            }
        );
    }
}
