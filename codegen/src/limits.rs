//! Limits on an OpenAPI document, checked on its text before any YAML parsing.
//!
//! Why before: the YAML parser builds every event of a document before serde's recursion limit
//! applies, and its scanner takes time quadratic in the depth of flow nesting (`[[[[…`): 40,000
//! levels in 80 KB took 7 s. Memory grows with the number of YAML nodes: 200 MB of YAML took
//! 6.6 GB, and 16 MiB of tiny mappings 3.5 GB. Hero's bundle is a few hundred KB (the 65
//! operations known today take 130 KB) and nests a few dozen levels, so 4 MiB and 100 levels
//! leave ample room while keeping the worst case under a gigabyte.

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// The deepest flow nesting (`[`/`{`, as in JSON) accepted: below the YAML deserializer's own
/// recursion limit (128), which it only applies after scanning everything.
pub const MAX_NESTING: usize = 100;

/// Why a document's text is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// More than [`MAX_DOCUMENT_BYTES`].
    TooLarge {
        /// The document's size in bytes.
        bytes: usize,
    },
    /// Flow nesting deeper than [`MAX_NESTING`], first reached on this line.
    TooDeep {
        /// The 1-based line.
        line: usize,
    },
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(
                f,
                "the document is {} MiB, over the {} MiB limit (Hero's bundle is far smaller: is this the right file?)",
                bytes.div_ceil(1 << 20),
                MAX_DOCUMENT_BYTES >> 20
            ),
            Self::TooDeep { line } => {
                write!(f, "the document nests more than {MAX_NESTING} levels deep (at line {line}); no API description needs that")
            }
        }
    }
}

impl std::error::Error for LimitError {}

/// Checks size and flow nesting in one linear pass.
pub fn check(text: &str) -> Result<(), LimitError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(LimitError::TooLarge { bytes: text.len() });
    }
    match deepest_flow(text) {
        Some(line) => Err(LimitError::TooDeep { line }),
        None => Ok(()),
    }
}

/// The line where flow nesting first exceeds [`MAX_NESTING`], if it does. A small scanner in
/// the spirit of YAML's: brackets count in flow context (JSON, `[a, b]`) and where a block
/// value starts; quoted strings and comments are skipped; a `[` inside a plain block scalar
/// (`description: range [0, 5)`) is text, not nesting.
fn deepest_flow(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut value_start = true; // at the start of a block value (line start, after `: `, `- `)
    let mut previous = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                if depth == 0 {
                    value_start = true;
                }
            }
            '"' | '\'' if depth > 0 || value_start => {
                // A quoted scalar: skip to its end (`\"` escapes in double quotes; `''` in
                // single quotes simply closes and reopens).
                while let Some(q) = chars.next() {
                    match q {
                        '\n' => line += 1,
                        // The guard consumes the escaped character (a line break counts).
                        '\\' if c == '"' && chars.next() == Some('\n') => line += 1,
                        q if q == c => break,
                        _ => {}
                    }
                }
                value_start = false;
            }
            '#' if previous.is_whitespace() => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        line += 1;
                        break;
                    }
                }
                value_start = depth == 0;
            }
            '[' | '{' if depth > 0 || value_start => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(line);
                }
            }
            ']' | '}' if depth > 0 => {
                depth -= 1;
                value_start = false;
            }
            ' ' | '\t' | '\r' => {}
            '-' | '?' if depth == 0 && value_start && chars.peek().is_some_and(|n| n.is_whitespace()) => {}
            ':' if depth == 0 && chars.peek().is_some_and(|n| n.is_whitespace()) => value_start = true,
            _ if depth == 0 => value_start = false,
            _ => {}
        }
        previous = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, levels: usize) -> String {
        format!("x: {}{}", open.repeat(levels), close.repeat(levels))
    }

    #[test]
    fn flow_nesting_is_counted_in_json_and_yaml() {
        assert_eq!(check(&nested("[", "]", MAX_NESTING)), Ok(()));
        assert_eq!(check(&nested("[", "]", MAX_NESTING + 1)), Err(LimitError::TooDeep { line: 1 }));
        assert_eq!(
            check(&format!("{{\n\"a\":\n{}1{}}}", "{\"b\":".repeat(MAX_NESTING), "}".repeat(MAX_NESTING))),
            Err(LimitError::TooDeep { line: 3 })
        );
        assert_eq!(check(&format!("- - {}", nested("{", "}", MAX_NESTING + 1))), Err(LimitError::TooDeep { line: 1 }));
    }

    #[test]
    fn brackets_in_text_are_not_nesting() {
        let plain = "description: range [0, 5) ".repeat(200);
        let quoted = format!("a: '{}'\nb: \"{}\\\"\"\n# {}\n", "[".repeat(500), "{".repeat(500), "[".repeat(500));
        for text in [plain.as_str(), &quoted, &format!("key: [\"{}\", '{}']", "[".repeat(500), "{".repeat(500))] {
            assert_eq!(check(text), Ok(()), "{text:.60}");
        }
    }

    #[test]
    fn size_is_checked_first() {
        let big = " ".repeat(MAX_DOCUMENT_BYTES + 1);
        assert_eq!(check(&big), Err(LimitError::TooLarge { bytes: MAX_DOCUMENT_BYTES + 1 }));
        assert!(LimitError::TooLarge { bytes: MAX_DOCUMENT_BYTES + 1 }.to_string().contains("5 MiB"));
    }
}
