//! Label selectors as `kubectl -l` writes them (`team=mail,tier in (db, web),!legacy`),
//! turned into the `matchLabels`/`matchExpressions` a binding's `namespaceSelector` holds.

use serde_json::{Value, json};

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `key=value` and `key==value`.
    pub labels: Vec<(String, String)>,
    /// Everything else, as (key, operator, values) with Kubernetes' operator names.
    pub expressions: Vec<(String, &'static str, Vec<String>)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("namespace selector `{text}`: {problem}")]
pub struct SelectorError {
    pub text: String,
    pub problem: String,
}

impl LabelSelector {
    /// Parses a comma-separated list of requirements.
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        let fail = |problem: String| SelectorError {
            text: text.to_string(),
            problem,
        };
        let mut selector = LabelSelector::default();
        for requirement in split_requirements(text).map_err(&fail)? {
            selector.add(&requirement).map_err(&fail)?;
        }
        Ok(selector)
    }

    fn add(&mut self, requirement: &str) -> Result<(), String> {
        let requirement = requirement.trim();
        if let Some(key) = requirement.strip_prefix('!') {
            let key = valid_key(key.trim())?;
            self.expressions.push((key, "DoesNotExist", Vec::new()));
        } else if let Some((key, value)) = requirement.split_once("!=") {
            let values = vec![valid_value(value.trim())?];
            self.expressions
                .push((valid_key(key.trim())?, "NotIn", values));
        } else if let Some((key, value)) = requirement.split_once('=') {
            let value = value.strip_prefix('=').unwrap_or(value);
            self.labels
                .push((valid_key(key.trim())?, valid_value(value.trim())?));
        } else if let Some((key, operator, values)) = set_requirement(requirement)? {
            self.expressions.push((valid_key(key)?, operator, values));
        } else {
            self.expressions
                .push((valid_key(requirement)?, "Exists", Vec::new()));
        }
        Ok(())
    }

    /// The selector as Kubernetes writes it, with `extra` expressions appended.
    pub fn to_json(&self, extra: &[(&str, &'static str, &[&str])]) -> Value {
        let mut selector = serde_json::Map::new();
        if !self.labels.is_empty() {
            let labels: serde_json::Map<String, Value> = self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            selector.insert("matchLabels".into(), Value::Object(labels));
        }
        let expressions: Vec<Value> = self
            .expressions
            .iter()
            .map(|(key, operator, values)| expression(key, operator, values))
            .chain(extra.iter().map(|(key, operator, values)| {
                let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                expression(key, operator, &values)
            }))
            .collect();
        if !expressions.is_empty() {
            selector.insert("matchExpressions".into(), Value::Array(expressions));
        }
        Value::Object(selector)
    }
}

fn expression(key: &str, operator: &str, values: &[String]) -> Value {
    if values.is_empty() {
        json!({"key": key, "operator": operator})
    } else {
        json!({"key": key, "operator": operator, "values": values})
    }
}

/// Splits at the commas outside parentheses.
fn split_requirements(text: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or("unbalanced `)`")?,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    parts.push(current);
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err("an empty requirement".into());
    }
    Ok(parts)
}

/// A set-based requirement: key, operator, values.
type SetRequirement<'a> = (&'a str, &'static str, Vec<String>);

/// `key in (a, b)` or `key notin (a, b)`.
fn set_requirement(text: &str) -> Result<Option<SetRequirement<'_>>, String> {
    let Some((head, rest)) = text.split_once('(') else {
        return Ok(None);
    };
    let Some(list) = rest.trim_end().strip_suffix(')') else {
        return Err(format!("`{text}`: the value list must end with `)`"));
    };
    let mut words = head.split_whitespace();
    let (Some(key), Some(word), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "`{text}`: expected `key in (…)` or `key notin (…)`"
        ));
    };
    let operator = match word {
        "in" => "In",
        "notin" => "NotIn",
        other => return Err(format!("`{other}` is not `in` or `notin`")),
    };
    let values = list
        .split(',')
        .map(|v| valid_value(v.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((key, operator, values)))
}

fn valid_key(key: &str) -> Result<String, String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ok = !name.is_empty()
        && name.len() <= 63
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    ok.then(|| key.to_string())
        .ok_or_else(|| format!("`{key}` is not a label key"))
}

fn valid_value(value: &str) -> Result<String, String> {
    let ok = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && (value.is_empty()
            || (value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric())));
    ok.then(|| value.to_string())
        .ok_or_else(|| format!("`{value}` is not a label value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_form_becomes_labels_or_expressions() {
        let selector =
            LabelSelector::parse("team=mail, tier in (db, web),env!=dev,!legacy,managed,a==b")
                .expect("valid");
        assert_eq!(
            selector.to_json(&[]),
            json!({
                "matchLabels": {"team": "mail", "a": "b"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["db", "web"]},
                    {"key": "env", "operator": "NotIn", "values": ["dev"]},
                    {"key": "legacy", "operator": "DoesNotExist"},
                    {"key": "managed", "operator": "Exists"},
                ]
            })
        );
    }

    #[test]
    fn malformed_selectors_are_refused_with_the_reason() {
        for bad in [
            "tier in (db",
            "a=b,",
            "tier within (x)",
            "bad key=x",
            "x=-y",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }
}
