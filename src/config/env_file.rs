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
    #[error("cannot read {}: line {line} does not parse ({text:?}); {hint}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        text: String,
        hint: &'static str,
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
                    // A quote left open takes the rest of the file with it: the line is the
                    // first of that text.
                    let first = text.lines().next().unwrap_or_default();
                    let (line, text_of_line) = find_line(&path, first);
                    let hint = hint_for(&text, &text_of_line);
                    return Err(EnvFileError::Parse {
                        path,
                        line,
                        text: text_of_line,
                        hint,
                    });
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

/// dotenvy reports the text of the bad line, or of the value in it (and a position within
/// it): find the line's number and its whole text (`text` itself when not found). The
/// line itself first, then one holding it; comments are never the culprit.
fn find_line(path: &Path, text: &str) -> (usize, String) {
    let content = std::fs::read_to_string(path).unwrap_or_default();
    let text = text.trim();
    let lines = || {
        content
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim_start().starts_with('#'))
    };
    lines()
        .find(|(_, line)| line.trim() == text)
        .or_else(|| lines().find(|(_, line)| line.contains(text)))
        .map_or((0, text.to_string()), |(index, line)| {
            (index + 1, line.to_string())
        })
}

/// What to do about a line that does not parse. `text` is what dotenvy could not read: a
/// quote left open takes the rest of the file with it.
fn hint_for(text: &str, line: &str) -> &'static str {
    let Some((name, value)) = line.split_once('=') else {
        return "expected NAME=value";
    };
    let name = name.trim().trim_start_matches("export ").trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    if name.is_empty() || !name.chars().all(plain) {
        return "a name is letters, digits, _ and . (NAME=value)";
    }
    let left_open = |quote: char| value.matches(quote).count() % 2 == 1;
    if text.trim_end().contains('\n') || left_open('\'') || left_open('"') {
        "a quote opened on it is never closed: quote the whole value (NAME=\"a value\") or \
         take the quote out"
    } else {
        "a value with a space, a quote or # in it must be quoted: NAME=\"a value\""
    }
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
        assert!(
            err.to_string().contains("line 5") && err.to_string().contains("expected NAME=value"),
            "{err}"
        );
        // A quote left open, and a space in a value: the line itself and what to do.
        let cases = [
            ("SYNC_TABLES=users,ta'g", "never closed"),
            ("SYNC_TABLES=users,ta\"g", "never closed"),
            ("SYNC_TABLES=users, orders", "must be quoted"),
            ("DB-HOST=x", "a name is letters"),
        ];
        for (bad, hint) in cases {
            // The same text in a comment above is not the culprit.
            std::fs::write(
                dir.join(".env"),
                format!("# {bad}\nDB_HOST=x\n{bad}\n# more\nIS_ONLINE=true\n"),
            )
            .unwrap();
            let err = EnvFile::load(&dir).unwrap_err().to_string();
            assert!(
                err.contains("line 3 does not parse") && err.contains(hint),
                "{bad}: {err}"
            );
            assert!(!err.contains("IS_ONLINE"), "only the line itself: {err}");
        }
        // A quote left open on the last line.
        std::fs::write(dir.join(".env"), "DB_HOST=x\nSYNC_TABLES=users,ta'g\n\n").unwrap();
        let err = EnvFile::load(&dir).unwrap_err().to_string();
        assert!(
            err.contains("line 2 does not parse") && err.contains("never closed"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
