//! The little of Jinja that port values in playbooks use: `{{ var }}`, with spaces or
//! not, a literal, and the `int`, `string`, `trim` and `default(x)` (`d(x)`) filters.
//! Variables are plain scalars and lists of them (from a play's `vars:` and `vars_files:`,
//! a role's defaults and vars, `group_vars/` and `host_vars/`); a string that is one
//! expression keeps its value's type, so `"{{ db_ports }}"` is the list itself, whose
//! items the caller renders in turn. Anything else (lookups, arithmetic, facts, `{% %}`
//! statements) is [`Unresolved`], named as written, so the caller can say which
//! expression it could not follow instead of guessing a port.

use std::collections::BTreeMap;

use super::yaml::{Node, Value};

/// How deep `a: "{{ b }}"`, `b: "{{ c }}"` chains are followed; real playbooks use one or
/// two levels, and the bound stops a variable that names itself.
const MAX_DEPTH: usize = 8;

/// Plain variables by name, as their YAML values: scalars, and lists of scalars.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

/// An expression that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The expression as written, braces included: `{{ smtp_port }}`.
    pub expression: String,
    pub reason: String,
}

impl Vars {
    /// The plain values of a `vars:` mapping: scalars, and lists of scalars (a port
    /// list). Mappings and nested lists are no port value and are left out.
    pub fn from_mapping(node: Option<&Node>) -> Vars {
        let values = node
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter(|e| is_plain(&e.value.value))
            .map(|e| (e.key.clone(), e.value.value.clone()))
            .collect();
        Vars { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds `other` on top: its values win, as a play's vars win over role defaults.
    pub fn overlay(&mut self, other: Vars) {
        self.values.extend(other.values);
    }
}

fn is_plain(value: &Value) -> bool {
    match value {
        Value::Map(_) => false,
        Value::Seq(items) => items
            .iter()
            .all(|i| !matches!(i.value, Value::Seq(_) | Value::Map(_))),
        _ => true,
    }
}

/// Whether a string holds Jinja at all.
pub fn has_jinja(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// Renders a string. A string that is one expression and nothing else keeps the type of
/// its value (`"{{ smtp_port }}"` with `smtp_port: 25` is the integer 25), as Ansible's
/// templating does; anything else is a string.
pub fn render(text: &str, vars: &Vars) -> Result<Value, Unresolved> {
    render_at(text, vars, 0)
}

/// Renders a string into text, whatever the type of its value.
pub fn render_text(text: &str, vars: &Vars) -> Result<String, Unresolved> {
    render(text, vars).map(|value| value_text(&value))
}

fn render_at(text: &str, vars: &Vars, depth: usize) -> Result<Value, Unresolved> {
    if let Some(at) = text.find("{%") {
        let end = text[at..].find("%}").map_or(text.len(), |e| at + e + 2);
        return Err(Unresolved {
            expression: text[at..end].to_string(),
            reason: "Jinja statements are not evaluated".into(),
        });
    }
    let trimmed = text.trim();
    if let Some(inner) = sole_expression(trimmed) {
        return evaluate(inner, vars, depth).map_err(|reason| unresolved(trimmed, reason));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            return Err(unresolved(
                &rest[start..],
                "the expression is not closed".into(),
            ));
        };
        let expression = &rest[start..start + len + 2];
        let value = evaluate(&expression[2..len], vars, depth)
            .and_then(|value| match value {
                Value::Seq(_) | Value::Map(_) => {
                    Err("a list cannot be written into text; it must be the whole value".into())
                }
                scalar => Ok(scalar),
            })
            .map_err(|reason| unresolved(expression, reason))?;
        out.push_str(&value_text(&value));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// The inside of `{{ … }}` when the text is exactly one expression.
fn sole_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

fn unresolved(expression: &str, reason: String) -> Unresolved {
    Unresolved {
        expression: expression.to_string(),
        reason,
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null | Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

/// Evaluates `atom | filter | filter…`; the error is why it could not.
fn evaluate(inner: &str, vars: &Vars, depth: usize) -> Result<Value, String> {
    let mut parts = split_top_level(inner, '|').into_iter();
    let atom = parts.next().unwrap_or_default().trim();
    // Ansible turned a rendered "25" back into 25 before 2.19, and ports are numbers; a
    // `string` filter after it still makes it text.
    let mut value = lookup(atom, vars, depth).map(|value| match value {
        Value::String(s) if is_integer(&s) => s.parse().map_or(Value::String(s), Value::Int),
        other => other,
    });
    for filter in parts {
        value = apply_filter(filter.trim(), value, vars, depth)?;
    }
    value
}

/// The value of a variable or a literal. An undefined variable is an `Err` that a
/// `default` filter may still replace.
fn lookup(atom: &str, vars: &Vars, depth: usize) -> Result<Value, String> {
    if let Some(literal) = literal(atom) {
        return Ok(literal);
    }
    if !is_identifier(atom) {
        return Err(format!(
            "`{atom}` is not a plain variable (only variables, literals and the int, string, \
             trim and default filters are followed)"
        ));
    }
    let value = vars.values.get(atom).ok_or_else(|| {
        format!(
            "`{atom}` is not a plain variable of the play's `vars:` or `vars_files:`, its \
             roles' defaults or vars, or `group_vars/`/`host_vars/` beside the playbook"
        )
    })?;
    match value {
        Value::String(s) if has_jinja(s) => {
            if depth >= MAX_DEPTH {
                return Err(format!(
                    "`{atom}` refers to other variables more than {MAX_DEPTH} levels deep"
                ));
            }
            render_at(s, vars, depth + 1).map_err(|inner| {
                format!(
                    "`{atom}` is `{s}`, and {}: {}",
                    inner.expression, inner.reason
                )
            })
        }
        other => Ok(other.clone()),
    }
}

/// Applies one filter. The outer error stops the expression (an unknown filter, `int` of
/// text); the inner one is a value still undefined, which a later `default` may replace.
fn apply_filter(
    filter: &str,
    value: Result<Value, String>,
    vars: &Vars,
    depth: usize,
) -> Result<Result<Value, String>, String> {
    let (name, argument) = match filter.split_once('(') {
        Some((name, rest)) => (name.trim(), rest.strip_suffix(')').map(str::trim)),
        None => (filter, None),
    };
    match (name, argument) {
        ("default" | "d", Some(argument)) => {
            let fallback = split_top_level(argument, ',')
                .first()
                .map(|a| lookup(a.trim(), vars, depth))
                .unwrap_or_else(|| Err("`default()` needs a value".into()));
            Ok(value.or(fallback))
        }
        ("int", None) => {
            let text = value_text(&value?);
            let int = text
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("`{text}` is not a whole number"))?;
            Ok(Ok(Value::Int(int)))
        }
        ("string", None) => Ok(Ok(Value::String(value_text(&value?)))),
        ("trim", None) => Ok(Ok(Value::String(value_text(&value?).trim().to_string()))),
        _ => Err(format!("the filter `{filter}` is not followed")),
    }
}

/// A quoted string or a number.
fn literal(atom: &str) -> Option<Value> {
    for quote in ['\'', '"'] {
        if let Some(inner) = atom.strip_prefix(quote).and_then(|a| a.strip_suffix(quote))
            && !inner.contains(quote)
        {
            return Some(Value::String(inner.to_string()));
        }
    }
    if is_integer(atom) {
        return atom.parse().ok().map(Value::Int);
    }
    None
}

fn is_integer(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits on `separator` outside quotes and parentheses, so `default('a|b')` stays whole.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, c) if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse_stream;

    fn vars(text: &str) -> Vars {
        let stream = parse_stream(text);
        let root = stream.documents[0].clone().expect("valid YAML").root;
        Vars::from_mapping(Some(&root))
    }

    #[test]
    fn renders_variables_literals_and_filters() {
        let vars =
            vars("smtp: 25\nquoted: \"587\"\nbind: 127.0.0.1\nchain: \"{{ smtp }}\"\nlist: [1]\n");
        let cases = [
            ("{{ smtp }}", Value::Int(25)),
            ("{{smtp}}", Value::Int(25)),
            ("{{ quoted | int }}", Value::Int(587)),
            ("{{ quoted }}", Value::Int(587)),
            ("{{ smtp | string }}", Value::String("25".into())),
            (
                "{{ bind }}:{{ smtp }}:25",
                Value::String("127.0.0.1:25:25".into()),
            ),
            (
                "{{ nope | default(2525) }}:25",
                Value::String("2525:25".into()),
            ),
            (
                "{{ nope | d('10.0.0.5') }}",
                Value::String("10.0.0.5".into()),
            ),
            ("{{ nope | default(smtp) }}", Value::Int(25)),
            ("{{ chain }}", Value::Int(25)),
            (" {{ smtp }} ", Value::Int(25)),
        ];
        for (text, expected) in cases {
            assert_eq!(render(text, &vars), Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_whole_list_is_the_value_and_its_items_stay_as_written() {
        let list = vars("smtp: 25\nports: [\"{{ smtp }}:25\", 587]\nalias: \"{{ ports }}\"\n");
        for text in ["{{ ports }}", "{{ alias }}"] {
            let Ok(Value::Seq(items)) = render(text, &list) else {
                panic!("{text} is a list");
            };
            let values: Vec<Value> = items.into_iter().map(|i| i.value).collect();
            let expected = [Value::String("{{ smtp }}:25".into()), Value::Int(587)];
            assert_eq!(values, expected, "{text}");
        }
        assert!(vars("nested: [[1]]\nmap: {a: 1}\n").is_empty());
    }

    #[test]
    fn names_what_it_cannot_resolve() {
        let vars = vars("smtp: 25\nlist: [1]\nloop: \"{{ loop }}\"\n");
        let error = render("{{ nope }}:25", &vars).unwrap_err();
        assert_eq!(error.expression, "{{ nope }}");
        assert!(error.reason.contains("`nope` is not a plain variable"));
        assert_eq!(
            render("{{ smtp + 1 }}", &vars).unwrap_err().expression,
            "{{ smtp + 1 }}"
        );
        assert!(render("{{ list }}:25", &vars).is_err());
        assert!(render("{{ smtp | upper }}", &vars).is_err());
        assert!(render("{% if x %}25{% endif %}", &vars).is_err());
        assert!(render("{{ smtp", &vars).is_err());
        let deep = render("{{ loop }}", &vars).unwrap_err();
        assert!(deep.reason.contains("levels deep"), "{}", deep.reason);
    }
}
