//! The README and .env.example say what the code does: every setting, every command, every
//! exit code.

use dbsync::cli::outcome_code;
use dbsync::config::KNOWN_VARIABLES;
use dbsync::domain::Outcome;

fn read(file: &str) -> String {
    std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_setting_is_documented() {
    let (readme, example) = (read("README.md"), read(".env.example"));
    for name in KNOWN_VARIABLES {
        assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");
        assert!(example.contains(name), ".env.example lacks {name}");
    }
}

#[test]
fn every_command_is_documented() {
    let readme = read("README.md");
    let help = crate::helpers::run_cli(&Default::default(), &["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 11, "{text}");
    for command in commands {
        assert!(
            readme.contains(&format!("dbsync {command}")),
            "README lacks `dbsync {command}`"
        );
    }
}

#[test]
fn the_exit_code_table_matches_the_code() {
    let readme = read("README.md");
    for outcome in Outcome::ALL.iter().filter(|o| **o != Outcome::Running) {
        let code = outcome_code(*outcome);
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {code} |")))
            .unwrap_or_else(|| panic!("no README row for exit code {code}"));
        assert!(
            row.contains(&format!("`{outcome}`")) || code == 1,
            "exit {code} row does not name `{outcome}`: {row}"
        );
    }
}
