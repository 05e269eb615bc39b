//! Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$`, with the values
//! of a `.env` file beside the Compose file, overridden by the process environment as
//! `docker compose` does.

use std::collections::BTreeMap;
use std::path::Path;

use super::source::read_file;
use super::yaml::{Node, Value};
use crate::model::{InvalidInput, Location};

/// Deepest `${A:-${B:-…}}` nesting accepted; real files nest one or two levels.
const MAX_INTERPOLATION_DEPTH: usize = 16;

/// The variables a Compose file sees.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The `.env` beside `compose_file`, with the process environment on top. A missing
    /// `.env` is no error; one that cannot be read is, with the same limits as any input
    /// (and it must be a regular file: a FIFO would block the run).
    pub fn for_compose_file(compose_file: &Path) -> Result<Environment, InvalidInput> {
        let dir = compose_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = dir.join(".env");
        let dot_env = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Ok(meta) if !meta.is_file() => {
                return Err(InvalidInput::unread(
                    Location::start_of(path.display().to_string()),
                    "`.env` is not a regular file",
                ));
            }
            _ => read_file(&path)?.text,
        };
        let mut env = Environment::from_dot_env(&dot_env);
        env.vars.extend(std::env::vars());
        Ok(env)
    }

    /// Parses `.env` syntax: `KEY=value`, `export KEY=value`, quotes, `#` comments.
    pub fn from_dot_env(text: &str) -> Environment {
        let vars = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    return None;
                }
                let line = line.strip_prefix("export ").unwrap_or(line);
                let (key, value) = line.split_once('=')?;
                Some((key.trim().to_string(), unquote(value.trim())))
            })
            .collect();
        Environment { vars }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_string();
        }
    }
    // An unquoted value ends at ` #`, which starts a comment.
    value
        .split_once(" #")
        .map_or(value, |(v, _)| v)
        .trim_end()
        .to_string()
}

/// An interpolation that failed, at the node that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Interpolates every string value of the tree in place (keys are left alone, as in
/// Compose). Plain scalars that become numbers after interpolation stay strings: the
/// Compose schema accepts both for ports.
pub fn interpolate_tree(node: &mut Node, env: &Environment) -> Result<(), InterpolationError> {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        let (line, column) = (node.line, node.column);
        match &mut node.value {
            Value::String(text) if text.contains('$') => {
                *text = interpolate(text, env).map_err(|message| InterpolationError {
                    line,
                    column,
                    message,
                })?;
            }
            Value::Seq(items) => stack.extend(items.iter_mut()),
            Value::Map(entries) => stack.extend(entries.iter_mut().map(|e| &mut e.value)),
            _ => {}
        }
    }
    Ok(())
}

/// Interpolates one string.
pub fn interpolate(text: &str, env: &Environment) -> Result<String, String> {
    interpolate_at(text, env, 0)
}

fn interpolate_at(text: &str, env: &Environment, depth: usize) -> Result<String, String> {
    if depth > MAX_INTERPOLATION_DEPTH {
        return Err(format!(
            "interpolation is nested deeper than {MAX_INTERPOLATION_DEPTH} levels"
        ));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = closing_brace(braced)?;
            out.push_str(&expand_braced(&braced[..end], env, depth)?);
            rest = &braced[end + 1..];
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_len == 0 {
                out.push('$');
            } else {
                out.push_str(env.get(&after[..name_len]).unwrap_or_default());
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` that closes a `${`, allowing nested `${…}` in defaults. The scan
/// stops once nesting passes the limit, so a hostile string costs linear time.
fn closing_brace(text: &str) -> Result<usize, String> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Ok(i),
            '}' => depth -= 1,
            _ => {}
        }
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "interpolation is nested deeper than {MAX_INTERPOLATION_DEPTH} levels"
            ));
        }
    }
    Err("unclosed `${` in an interpolation".into())
}

fn expand_braced(body: &str, env: &Environment, depth: usize) -> Result<String, String> {
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, operator) = body.split_at(name_len);
    if name.is_empty() {
        return Err(format!("invalid interpolation `${{{body}}}`"));
    }
    let value = env.get(name);
    let set_and_not_empty = value.is_some_and(|v| !v.is_empty());
    let result = |s: &str| interpolate_at(s, env, depth + 1);
    match operator {
        "" => Ok(value.unwrap_or_default().to_string()),
        _ if operator.starts_with(":-") => match value {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => result(&operator[2..]),
        },
        _ if operator.starts_with('-') => match value {
            Some(v) => Ok(v.to_string()),
            None => result(&operator[1..]),
        },
        _ if operator.starts_with(":?") => match value {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(required_message(name, &operator[2..])),
        },
        _ if operator.starts_with('?') => match value {
            Some(v) => Ok(v.to_string()),
            None => Err(required_message(name, &operator[1..])),
        },
        _ if operator.starts_with(":+") => {
            if set_and_not_empty {
                result(&operator[2..])
            } else {
                Ok(String::new())
            }
        }
        _ if operator.starts_with('+') => {
            if value.is_some() {
                result(&operator[1..])
            } else {
                Ok(String::new())
            }
        }
        _ => Err(format!("invalid interpolation `${{{body}}}`")),
    }
}

fn required_message(name: &str, text: &str) -> String {
    if text.is_empty() {
        format!("required variable {name} is missing a value")
    } else {
        format!("required variable {name} is missing a value: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::from_dot_env(
            "SMTP=25\nexport IMAP='143'\nEMPTY=\n# comment\nHOST=127.0.0.1 # local\n",
        )
    }

    #[test]
    fn expands_every_form() {
        let env = env();
        let cases = [
            ("${SMTP}:25", "25:25"),
            ("$SMTP", "25"),
            ("${IMAP}", "143"),
            ("${NOPE:-587}", "587"),
            ("${EMPTY:-587}", "587"),
            ("${EMPTY-587}", ""),
            ("${NOPE-587}", "587"),
            ("${SMTP:+on}", "on"),
            ("${NOPE:+on}", ""),
            ("$${SMTP}", "${SMTP}"),
            ("${HOST}:${NOPE:-${SMTP}}:25", "127.0.0.1:25:25"),
            ("cost $", "cost $"),
        ];
        for (input, expected) in cases {
            assert_eq!(interpolate(input, &env).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        let env = env();
        assert_eq!(
            interpolate("${NOPE:?set the SMTP port}", &env),
            Err("required variable NOPE is missing a value: set the SMTP port".into())
        );
        assert_eq!(
            interpolate("${EMPTY:?}", &env),
            Err("required variable EMPTY is missing a value".into())
        );
        assert_eq!(interpolate("${EMPTY?}", &env), Ok(String::new()));
        assert!(interpolate("${SMTP", &env).is_err());
    }
}
