//! `.env` in the working directory: read without touching the process environment (the
//! environment wins), with the line number of a line that does not parse, and a warning
//! for a setting dbsync does not know but that is close to one it does (`IS_ONLNE`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::KNOWN_VARIABLES;

/// The values of one `.env` file and what is worth warning about in it.
#[derive(Debug, Default)]
pub struct EnvFile {
    pub path: PathBuf,
    pub found: bool,
    pub values: HashMap<String, String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read {}: line {line} does not parse ({text:?}); expected NAME=value", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EnvFile {
    /// Reads `dir/.env` when there is one.
    pub fn load(dir: &Path) -> Result<EnvFile, EnvFileError> {
        let path = dir.join(".env");
        let mut file = EnvFile {
            path: path.clone(),
            ..EnvFile::default()
        };
        let items = match dotenvy::from_path_iter(&path) {
            Ok(items) => items,
            Err(err) if err.not_found() => return Ok(file),
            Err(err) => return Err(io_error(&path, err)),
        };
        file.found = true;
        for item in items {
            match item {
                Ok((name, value)) => {
                    if let Some(warning) = unknown_setting(&name, ".env") {
                        file.warnings.push(warning);
                    }
                    file.values.insert(name, value);
                }
                Err(dotenvy::Error::LineParse(text, _index)) => {
                    let line = line_number(&path, &text);
                    return Err(EnvFileError::Parse { path, line, text });
                }
                Err(err) => return Err(io_error(&path, err)),
            }
        }
        Ok(file)
    }

    /// The environment's value, else this file's.
    pub fn lookup(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.values.get(name).cloned())
    }

    /// What to add to "X is not set" so the reader knows where dbsync looked.
    pub fn missing_hint(&self) -> String {
        if self.found {
            format!(
                " (set it in {} or in the environment; see .env.example)",
                self.path.display()
            )
        } else {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            format!(
                ", and there is no .env in {} (copy .env.example to .env there, or set it in the environment)",
                dir.display()
            )
        }
    }
}

/// Warnings for environment variables that look like a misspelled dbsync setting.
pub fn environment_warnings() -> Vec<String> {
    std::env::vars()
        .filter(|(name, _)| {
            ["DB_", "SYNC_", "IS_", "API_", "LOG_", "SITE", "BIND"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
        })
        .filter_map(|(name, _)| unknown_setting(&name, "the environment"))
        .collect()
}

/// "X in .env is not a dbsync setting; did you mean Y?" when a known name is at most two
/// edits away.
fn unknown_setting(name: &str, place: &str) -> Option<String> {
    if KNOWN_VARIABLES.contains(&name) {
        return None;
    }
    KNOWN_VARIABLES
        .iter()
        .map(|known| (strsim::levenshtein(name, known), known))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| {
            format!("{name} in {place} is not a dbsync setting; did you mean {known}?")
        })
}

/// dotenvy reports the text of the bad line (and a position within it): find its number.
fn line_number(path: &Path, text: &str) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|content| {
            content
                .lines()
                .position(|line| line.trim() == text.trim() || line.contains(text.trim()))
        })
        .map_or(0, |index| index + 1)
}

fn io_error(path: &Path, err: dotenvy::Error) -> EnvFileError {
    EnvFileError::Io {
        path: path.to_path_buf(),
        source: match err {
            dotenvy::Error::Io(io) => io,
            other => std::io::Error::other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        assert_eq!(
            unknown_setting("IS_ONLNE", ".env").as_deref(),
            Some("IS_ONLNE in .env is not a dbsync setting; did you mean IS_ONLINE?")
        );
        assert_eq!(unknown_setting("IS_ONLINE", ".env"), None);
        assert_eq!(unknown_setting("COMPLETELY_OTHER", ".env"), None);
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let dir = std::env::temp_dir().join(format!("dbsync-envfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(".env"),
            "# comment\nDB_HOST=x\n\nIS_ONLINE=true\ngarbage line without equals\n",
        )
        .unwrap();
        let err = EnvFile::load(&dir).unwrap_err();
        assert!(err.to_string().contains("line 5"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
