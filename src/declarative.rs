//! Shared by the loaders of the declarative folders (`agents/`, `channels/`): listing files and
//! reporting problems as `file:line: message`, the way compilers do, so editors can jump there.

use std::fmt;
use std::path::{Path, PathBuf};

/// Something wrong in a declarative file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when it can be pinned down.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at a place.
    pub fn at(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, located by its byte span.
    pub fn from_toml(path: &Path, source: &str, error: &toml::de::Error) -> Self {
        let line = error.span().map(|span| line_at(source, span.start));
        Self::at(path, line, error.message().to_owned())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// The 1-based line of a byte offset.
pub fn line_at(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The line where `key = ...` is written (the first one), for problems found after parsing.
pub fn line_of_key(source: &str, key: &str) -> Option<usize> {
    source
        .lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|index| index + 1)
}

/// The `*.toml` files of a folder, sorted.
pub fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Problem::at(dir, None, format!("cannot read the folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found() {
        let source = "a = 1\n\n  temperature = 3\n";
        assert_eq!(line_of_key(source, "temperature"), Some(3));
        assert_eq!(line_of_key(source, "missing"), None);
        assert_eq!(line_at(source, 7), 3);
    }
}
