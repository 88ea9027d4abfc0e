//! How deep a file's syntax tree can nest, estimated from its tokens before it is parsed.
//!
//! ruff's parser builds one tree level per unary operator, trailer or binary operator in a
//! chain (`x = - - - 1`, `f()()()`, `1+1+1`), and parsing, walking and dropping that tree
//! recurse once per level: a 7 MB file of minus signs took 6.6 GB (most of it stack). CPython
//! refuses such a file anyway (measured with 3.11: `RecursionError` while compiling from about
//! 3,000 levels, `MemoryError` from 6,000): it is skipped here from the token stream, whose
//! memory is linear in the file's size, before anything is built. Skipped, not judged: between
//! this tool's limit and CPython's, Python may still load the file.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{lexer, Mode};

/// Far above anything a migration writes (a 1,000-term expression in one statement), well
/// below where CPython gives up.
pub(super) const MAX_DEPTH: usize = 1_000;

/// Each token becomes up to one syntax-tree node of ~64 bytes (plus the token itself): a file
/// of one-byte tokens (`[1,1,1,...]`) took 78 times its size. So the tokens a file may have are
/// proportional to its size, one per [`BYTES_PER_TOKEN`] bytes, which keeps the memory of any
/// file to a few tens of times its size: a data migration with a literal list of 85,000 rows
/// (6.7 MB, 0.3 tokens per byte) is read, a file of single-digit list items is not.
pub(super) const BYTES_PER_TOKEN: usize = 3;

/// Small files may be dense (a short file of `1,1,1`): below this, the size does not matter.
pub(super) const MIN_TOKENS: usize = 1_000_000;

/// The tokens a file of `bytes` bytes may have.
pub(super) fn max_tokens(bytes: usize) -> usize {
    MIN_TOKENS.max(bytes / BYTES_PER_TOKEN)
}

/// Why the file is skipped before parsing: its deepest statement nests past [`MAX_DEPTH`]
/// (an upper bound, computed from the tokens), or it has more tokens than [`max_tokens`]
/// allows for its size. Elements separated by commas are siblings, not nested; everything else
/// an element chains (operators, keywords of expressions, closing trailers) counts as a level,
/// as does each open bracket and indentation level around it.
pub(super) fn refuse(text: &str) -> Option<String> {
    let max_tokens = max_tokens(text.len());
    let mut lexer = lexer::lex(text, Mode::Module);
    let mut indent = 0usize;
    // Levels chained so far in the current element of each open bracket (the statement first).
    let mut open: Vec<usize> = vec![0];
    let mut sum = 0usize;
    for tokens in 0.. {
        if tokens > max_tokens {
            return Some(format!(
                "it has more than {max_tokens} tokens, over the limit this tool reads in a file of {} bytes (one token per {BYTES_PER_TOKEN} bytes, at least {MIN_TOKENS})",
                text.len()
            ));
        }
        let kind = lexer.next_token();
        match kind {
            TokenKind::EndOfFile => return None,
            TokenKind::Indent => indent += 1,
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Newline | TokenKind::Semi => {
                open.clear();
                open.push(0);
                sum = 0;
            }
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => open.push(0),
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                if open.len() > 1 {
                    sum -= open.pop().unwrap_or(0);
                }
                // The closed bracket is a trailer or an operand of what encloses it.
                bump(&mut open, &mut sum);
            }
            TokenKind::Comma => {
                if let Some(top) = open.last_mut() {
                    sum -= *top;
                    *top = 0;
                }
            }
            TokenKind::If
            | TokenKind::Else
            | TokenKind::Lambda
            | TokenKind::Await
            | TokenKind::Yield => bump(&mut open, &mut sum),
            k if k.is_operator() => bump(&mut open, &mut sum),
            _ => {}
        }
        let depth = indent + open.len() + sum;
        if depth > MAX_DEPTH {
            return Some(format!(
                "it nests deeper than {MAX_DEPTH} levels, over the limit this tool reads (CPython itself gives up from about 3,000)"
            ));
        }
    }
    None
}

fn bump(open: &mut [usize], sum: &mut usize) {
    if let Some(top) = open.last_mut() {
        *top += 1;
        *sum += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_count_and_siblings_do_not() {
        assert!(refuse(&format!("x = {}1\n", "-".repeat(2_000)))
            .unwrap()
            .contains("deeper than 1000"));
        assert!(refuse(&format!("x = {}1\n", "1+".repeat(2_000))).is_some());
        assert!(refuse(&format!("x = f{}\n", "()".repeat(2_000))).is_some());
        assert!(refuse(&format!("x = [{}]\n", "-1, ".repeat(100_000))).is_none());
        assert!(refuse(&format!("x = 1\n{}", "y = -1\n".repeat(100_000))).is_none());
        // Operators inside strings and comments are text.
        let doc = format!(
            "\"\"\"{}\"\"\"\n# {}\nx = 1\n",
            "-".repeat(10_000),
            "=".repeat(10_000)
        );
        assert!(refuse(&doc).is_none());
        assert!(refuse(&format!("x = [{}]\n", "1,".repeat(600_000)))
            .unwrap()
            .contains("more than 1000000 tokens"));
        // Past the minimum, the bound follows the size: 3.5 bytes per token pass, 2 do not.
        assert!(refuse(&format!("x = [{}]\n", "11111, ".repeat(600_000))).is_none());
        assert!(refuse(&format!("x = [{}]\n", "11, ".repeat(1_500_000)))
            .unwrap()
            .contains("more than 2000002 tokens"));
    }
}
