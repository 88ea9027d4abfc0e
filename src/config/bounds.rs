//! A config file is input from whoever committed it: its size and its YAML aliases are bounded
//! before serde_yaml reads it. serde_yaml 0.9 expands every alias (`*name`) into a copy of its
//! anchor with no limit, so a 960 KB file of one long anchored string and many aliases to it
//! took 14.8 GB.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Far larger than any real config (the starter is 2 KB).
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// A config has little use for aliases; this many copies of a file-sized anchor stay far below
/// a gigabyte.
pub const MAX_ALIASES: usize = 100;

/// Reads at most [`MAX_CONFIG_BYTES`] of `path`, refusing a larger file.
pub fn read(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            position: None,
            message: format!(
                "the file is larger than {} KiB, more than a config file needs",
                MAX_CONFIG_BYTES / 1024
            ),
        });
    }
    String::from_utf8(bytes).map_err(|e| Error::Malformed {
        path: path.to_path_buf(),
        position: None,
        message: format!("the file is not UTF-8: {e}"),
    })
}

/// Refuses a text over [`MAX_CONFIG_BYTES`] or with more than [`MAX_ALIASES`] aliases, naming
/// the line and column of the first alias past the limit.
pub fn check(text: &str, path: &Path) -> Result<()> {
    let malformed = |position, message| Error::Malformed {
        path: path.to_path_buf(),
        position,
        message,
    };
    if text.len() > MAX_CONFIG_BYTES {
        return Err(malformed(
            None,
            format!(
                "the file is larger than {} KiB, more than a config file needs",
                MAX_CONFIG_BYTES / 1024
            ),
        ));
    }
    if let Some(position) = aliases(text).nth(MAX_ALIASES) {
        return Err(malformed(
            Some(position),
            format!(
                "more than {MAX_ALIASES} YAML aliases (`*name`): each is expanded into a copy of its anchor, so they are bounded"
            ),
        ));
    }
    Ok(())
}

/// Where aliases start (1-based line and column), read from the text: a `*` that begins a node
/// (at the start of a line's content, or after `- `, `: `, `? `, `[`, `{` or `,`) outside quotes
/// and comments. It may count a plain scalar's ` - *` as an alias; never the reverse.
fn aliases(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    text.lines().enumerate().flat_map(|(index, line)| {
        let mut found = Vec::new();
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        let mut node_start = true;
        let mut chars = line.chars().enumerate().peekable();
        while let Some((column, c)) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                    continue;
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '"' | '\'' if node_start => quote = Some(c),
                    '*' if node_start => found.push((index + 1, column + 1)),
                    '[' | '{' | ',' => node_start = true,
                    '-' | ':' | '?' => {
                        node_start = chars.peek().is_none_or(|(_, n)| n.is_whitespace())
                    }
                    c if c.is_whitespace() => {}
                    _ => node_start = false,
                },
            }
            previous = c;
        }
        found
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_found_where_nodes_start() {
        let text = "a: &x \"v\"\nb: *x\nc: [*x, *x]\nd:\n  - *x\ne: \"*x, *y\" # *z\nf: a*b\n";
        let found: Vec<_> = aliases(text).collect();
        assert_eq!(found, vec![(2, 4), (3, 5), (3, 9), (5, 5)]);
    }
}
