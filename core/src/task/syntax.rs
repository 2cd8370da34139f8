//! Checking that main.js parses, when a task loads. A typo then stops `cogwork validate`
//! and `Engine::open` with the line and column, instead of surfacing at the first run, in
//! a worker, perhaps in production. The check uses Boa's own parser, the one a worker
//! compiles with, so both agree on what parses. It costs 12–55 µs for the example tasks
//! (75–600 bytes) and grows with the code, ~17–30 ms for 100 KB (release build, 2026-11,
//! the project's 2-core machine): once per load, which every load can afford.

use boa_engine::ast::scope::Scope;
use boa_engine::interner::Interner;
use boa_engine::parser::lexer::Error as LexError;
use boa_engine::parser::{Error as ParseError, Parser, Source};

/// Parses `source` as a script; the error reads like the SyntaxError a run would throw.
pub(super) fn check(source: &str) -> Result<(), String> {
    let parsed = Parser::new(Source::from_bytes(source)).parse_script(&Scope::new_global(), &mut Interner::default());
    match parsed {
        Ok(_) => Ok(()),
        // Boa gives no position when the script stops mid-construct (an unclosed bracket,
        // string or template): the end of main.js is where it stopped.
        Err(ParseError::AbruptEnd) => Err(at_end(source, "unexpected end of input")),
        Err(ParseError::Lex { err: LexError::IO(cause) }) => Err(at_end(source, &cause.to_string())),
        Err(error) => Err(format!("SyntaxError: {error}")),
    }
}

/// The message with the line and column just past the last character, counted from 1 as
/// the parser counts them.
fn at_end(source: &str, what: &str) -> String {
    let line = 1 + source.matches('\n').count();
    let column = 1 + source.rsplit('\n').next().unwrap_or_default().chars().count();
    format!("SyntaxError: {what} at line {line}, col {column}, the end of main.js")
}
